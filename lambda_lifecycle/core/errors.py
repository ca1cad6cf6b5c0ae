"""The project's exception hierarchy.

Every error the library raises on purpose derives from :class:`LifecycleError`, so an embedder can
catch the whole family with one clause. The errors that concern the state machine name the state
and the event, which is what a user needs to see when the lifecycle is driven wrongly.
"""

from __future__ import annotations

from collections.abc import Sequence


class LifecycleError(Exception):
    """Base class of every error raised by lambda-lifecycle."""


class SpecError(LifecycleError):
    """The lifecycle spec is malformed: a reference to an undeclared name, or a broken rule."""


class TransitionRefused(LifecycleError):
    """An event that the spec does not allow in the current state; the state is unchanged.

    ``guards`` is non-empty when the event is declared in this state but every row's guard was
    false at the time (for example ``restore`` on a Frozen environment with no snapshot).
    """

    def __init__(
        self, state: str, event: str, allowed: Sequence[str], guards: Sequence[str] = ()
    ) -> None:
        self.state = state
        self.event = event
        self.allowed = tuple(allowed)
        self.guards = tuple(guards)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        if self.guards:
            why = "every guard is false now (" + ", ".join(self.guards) + ")"
            message = (
                f"event {event!r} is not allowed in state {state!r}: {why}; "
                f"events declared in {state!r}: {allowed_text}"
            )
        else:
            message = (
                f"event {event!r} is not allowed in state {state!r}; "
                f"events allowed in {state!r}: {allowed_text}"
            )
        super().__init__(message)


class ConfigurationError(LifecycleError, ValueError):
    """A function configuration value outside AWS's documented range."""


class APIError(LifecycleError):
    """A Runtime API or Extensions API call refused the way AWS refuses it.

    ``error_type`` and ``status`` are what the HTTP API answers: the JSON body
    ``{"errorMessage": ..., "errorType": ...}`` with that status code.
    """

    status = 403

    def __init__(self, error_type: str, message: str, status: int | None = None) -> None:
        self.error_type = error_type
        self.message = message
        if status is not None:
            self.status = status
        super().__init__(f"{error_type}: {message}")

    def body(self) -> dict[str, str]:
        """The JSON error body AWS answers with."""
        return {"errorMessage": self.message, "errorType": self.error_type}


class EnvironmentBusy(LifecycleError):
    """An invocation was sent to an environment that is serving another one."""


class EnvironmentClosed(LifecycleError):
    """The environment was shut down (or never entered) and can serve nothing more."""


class TooManyRequestsException(LifecycleError):
    """A throttled invocation: the function's concurrency limit is reached.

    Lambda answers 429 with header ``X-Amzn-ErrorType: TooManyRequestsException``; ``reason``
    says which limit (``ReservedFunctionConcurrentInvocationLimitExceeded`` for a function's
    reserved concurrency) and the message is always ``Rate Exceeded.``. A throttled invocation
    never reaches an environment: no phase starts for it.
    """

    error_type = "TooManyRequestsException"
    status = 429
    message = "Rate Exceeded."

    def __init__(self, reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded") -> None:
        self.reason = reason
        super().__init__(f"{self.error_type}: {self.message} ({reason})")

    def body(self) -> dict[str, str]:
        """The JSON body: AWS's keys (``Reason``, ``Type``, ``message``) and the project's."""
        return {
            "Reason": self.reason,
            "Type": "User",
            "message": self.message,
            "errorMessage": self.message,
            "errorType": self.error_type,
        }
