"""The catalog: conditions, treatments and doctors, with the synonyms that find them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.platform.database import UTCDateTime, now_utc
from registry.platform.extensions import db

condition_treatment = Table(
    "condition_treatment",
    db.metadata,
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
    Column("treatment_id", ForeignKey("treatment.id", ondelete="CASCADE"), primary_key=True),
)


class Condition(db.Model):
    """A health condition, optionally coded in ICD-10-CM."""

    __tablename__ = "condition"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    icd10: Mapped[str | None] = mapped_column(String(10), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    synonyms: Mapped[list[ConditionSynonym]] = relationship(back_populates="condition", cascade="all, delete-orphan")
    treatments: Mapped[list[Treatment]] = relationship(
        secondary=condition_treatment, back_populates="conditions", order_by="Treatment.name"
    )

    def __repr__(self) -> str:
        return f"<Condition {self.slug}>"


class ConditionSynonym(db.Model):
    """Another name a condition is known by."""

    __tablename__ = "condition_synonym"
    __table_args__ = (UniqueConstraint("condition_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200), index=True)

    condition: Mapped[Condition] = relationship(back_populates="synonyms")

    def __repr__(self) -> str:
        return f"<ConditionSynonym {self.name!r}>"


class Treatment(db.Model):
    """A treatment; a drug under its generic (ingredient) name."""

    __tablename__ = "treatment"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    drugbank_id: Mapped[str | None] = mapped_column(String(20), index=True)
    mesh_id: Mapped[str | None] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    synonyms: Mapped[list[TreatmentSynonym]] = relationship(back_populates="treatment", cascade="all, delete-orphan")
    conditions: Mapped[list[Condition]] = relationship(
        secondary=condition_treatment, back_populates="treatments", order_by="Condition.name"
    )

    def __repr__(self) -> str:
        return f"<Treatment {self.slug} ({self.kind})>"


class TreatmentSynonym(db.Model):
    """A brand name or other name a treatment is known by."""

    __tablename__ = "treatment_synonym"
    __table_args__ = (UniqueConstraint("treatment_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatment.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200), index=True)

    treatment: Mapped[Treatment] = relationship(back_populates="synonyms")

    def __repr__(self) -> str:
        return f"<TreatmentSynonym {self.name!r}>"


class Doctor(db.Model):
    """A professional in public practice; ratings of doctors are public aggregates."""

    __tablename__ = "doctor"
    __table_args__ = (UniqueConstraint("name_key", "city_key", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    specialty: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(120))
    city_key: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    def __repr__(self) -> str:
        return f"<Doctor {self.id} {self.name!r}>"
