"""The catalog: conditions, treatments and doctors; searching them through the outside vocabularies
(ICD-10-CM, drug names and brands), adding to them without duplicates, merging duplicates, and which
treatments a condition page offers to compare."""
