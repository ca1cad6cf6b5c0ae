"""The phases of the lifecycle, one module each, as the scheduler runs them.

- :mod:`.init`: Init (and the suppressed init of an invocation after a Reset);
- :mod:`.restore`: Restore, SnapStart's resume from the snapshot;
- :mod:`.invoke`: the Invoke phase and the books of an invocation;
- :mod:`.teardown`: failures routed into Reset, the Reset itself and Shutdown;
- :mod:`.dispatch`: which phases an invocation (or a provisioned Init) goes through.

Each phase asks the core for every step and publishes what the core did; the waits are the
phase's own (under the scheduler's deadlines).
"""
