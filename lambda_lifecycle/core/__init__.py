"""The pure core of lambda-lifecycle.

Everything in this package is synchronous and deterministic: it performs no I/O and reads no
clock. The lifecycle spec is parsed into typed records (:mod:`.spec`), the state machine is built
from those records (:mod:`.machine`), the deadlines are computed from the spec's numbers
(:mod:`.deadlines`), and the per-environment bookkeeping (:mod:`.environment`) tracks what the
phase is waiting for. Time passing, crashes and API calls arrive here as events from the
scheduler in :mod:`lambda_lifecycle.engine`.
"""
