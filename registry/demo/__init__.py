"""The demo community: a deterministic registry a clinician would believe (seed), its catalog and
profiles (community), its doctors (doctors) and what its three logins find (logins)."""
