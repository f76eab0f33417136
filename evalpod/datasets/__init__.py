"""The dataset registry: versions uploaded by streaming, checked in the sandbox, mounted
read-only into evaluations, their hidden columns kept for the trusted scorer."""
