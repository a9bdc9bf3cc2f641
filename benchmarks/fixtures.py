"""The benchmark's estates and people, shared by the run (no Django) and the measuring processes."""

SMALL = 1_000
LARGE = 100_000
# Fleet-like estates: many keys per owner, so one owner's keys are 5% of the estate.
OWNERS = 20
SEED = 4
ADMIN_USERNAME = "bench-admin"
ADMIN_PASSWORD = "bench-admin-password"
PER_PAGE = 25
