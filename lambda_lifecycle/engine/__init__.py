"""The anyio scheduler that runs execution environments.

The engine owns every wait, deadline and task: it drives the core's state machine through the
phases (Init, Restore, Invoke, Shutdown, and Reset after a failure), hands lifecycle events to
the runtime and the extensions through the same calls the Runtime and Extensions APIs offer, and
turns crashes and passing deadlines into the spec's events.
"""
