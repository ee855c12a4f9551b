"""The research export as Parquet: the same tables, typed from the codebook, written in row groups.

Column types come from the Table Schemas of registry.interchange.codebook (so from scales): a coded
column is a dictionary (categorical) column whose dictionary is the scale's codes in scale order,
marked ordered for the ordinal scales (codebook.ORDINAL); a year-month is a date, the first day of
its month (month precision, stated in the codebook); integers are integers, the dose a double, text is text. Each table is written ROW_GROUP rows at a
time while the export's row generators stream, so memory stays flat however many rows there are.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from registry.interchange.codebook import is_month

ROW_GROUP = 100_000
MEDIATYPE = "application/vnd.apache.parquet"


def _arrow_type(spec: dict) -> pa.DataType:
    enum = spec.get("constraints", {}).get("enum")
    if enum:
        return pa.dictionary(
            pa.int8() if len(enum) < 128 else pa.int16(), pa.string(), ordered=bool(spec.get("categoriesOrdered"))
        )
    if is_month(spec):
        return pa.date32()
    if spec["type"] == "integer":
        return pa.int64() if spec["name"] == "doctor_id" else pa.int16()
    if spec["type"] == "number":
        return pa.float64()
    return pa.string()


def arrow_schema(table_schema: dict) -> pa.Schema:
    """The Arrow schema of one export table, from its Frictionless Table Schema."""
    fields = []
    for spec in table_schema["fields"]:
        required = bool(spec.get("constraints", {}).get("required"))
        fields.append(
            pa.field(
                spec["name"],
                _arrow_type(spec),
                nullable=not required,
                metadata={"description": spec.get("description", "")},
            )
        )
    return pa.schema(fields)


class _Columns:
    """Turns a batch of row tuples into a RecordBatch of the schema (fixed dictionaries per column)."""

    def __init__(self, schema: pa.Schema, table_schema: dict):
        self.schema = schema
        self.encoders = []
        for arrow_field, spec in zip(schema, table_schema["fields"]):
            enum = spec.get("constraints", {}).get("enum")
            if enum:
                index = {code: i for i, code in enumerate(enum)}
                dictionary = pa.array(enum, pa.string())
                self.encoders.append((arrow_field, index, dictionary))
            elif is_month(spec):
                self.encoders.append((arrow_field, _Months(), None))
            else:
                self.encoders.append((arrow_field, None, None))

    def batch(self, rows: list[tuple]) -> pa.RecordBatch:
        columns = list(zip(*rows))
        arrays = []
        for (arrow_field, index, dictionary), values in zip(self.encoders, columns):
            if isinstance(index, _Months):
                arrays.append(pa.array([index[v] for v in values], pa.date32()))
            elif index is not None:
                try:
                    codes = [None if v is None else index[v] for v in values]
                except KeyError as error:
                    raise ValueError(f"{arrow_field.name}: {error.args[0]!r} is not a code of its scale") from None
                indices = pa.array(codes, arrow_field.type.index_type)
                arrays.append(pa.DictionaryArray.from_arrays(indices, dictionary))
            else:
                arrays.append(pa.array(values, arrow_field.type))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


class _Months(dict):
    """YYYY-MM -> the first day of the month (None for none), each distinct month parsed once."""

    def __missing__(self, month):
        if month is None or month == "":
            return None
        try:
            day = date(int(month[:4]), int(month[5:7]), 1)
        except (TypeError, ValueError):
            raise ValueError(f"{month!r} is not a year-month (YYYY-MM)") from None
        self[month] = day
        return day


def write_table(sink, rows, table_schema: dict, row_group: int | None = None, chunk: int = 5_000):
    """Write rows (tuples in the schema's column order) to sink as Parquet; yield the count per row group.

    Rows become compact Arrow batches every `chunk` rows, so a row group never exists as Python objects.
    """
    row_group = row_group or ROW_GROUP
    chunk = min(chunk, row_group)
    schema = arrow_schema(table_schema)
    encoder = _Columns(schema, table_schema)
    n = 0
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        batches, pending, rows_pending = [], [], 0
        for row in rows:
            pending.append(row)
            if len(pending) == chunk:
                batches.append(encoder.batch(pending))
                rows_pending += len(pending)
                pending = []
                if rows_pending >= row_group:
                    writer.write_table(pa.Table.from_batches(batches, schema), row_group_size=row_group)
                    n += rows_pending
                    batches, rows_pending = [], 0
                    yield n
        if pending:
            batches.append(encoder.batch(pending))
            rows_pending += len(pending)
        if batches or n == 0:
            writer.write_table(pa.Table.from_batches(batches or [_empty(schema)], schema), row_group_size=row_group)
            n += rows_pending
    yield n


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
