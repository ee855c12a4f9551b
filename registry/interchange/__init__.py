"""Interchange: files for and from other systems: the research export (CSV, Parquet, labelled Stata/SPSS
files and their codebook), FHIR R4 both ways, and review spreadsheets imported through the form's
write path."""
