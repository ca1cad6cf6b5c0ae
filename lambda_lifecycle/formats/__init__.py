"""What Lambda writes about an execution environment, as typed records and as text.

This package renders and parses the lines and events Lambda itself produces: the CloudWatch
plain-text lines (``INIT_START``, ``START``, ``END``, ``REPORT``, ``INIT_REPORT``,
``RESTORE_REPORT`` and the older error lines), the JSON log format, and the Telemetry API
``{time, type, record}`` events.

It is pure: no I/O, no clock. Every time it writes is a time the caller passed in, and every
string it reads is a string the caller handed over. The one exception is
:mod:`.schemas`, which reads the JSON Schemas of ``specs/telemetry``.

Modules, lowest first:

- :mod:`.records`: frozen dataclasses for the data a line or an event carries, with the
  Telemetry API's exact field names in ``to_record``/``from_record``.
- :mod:`.textlog`: CloudWatch plain-text lines, rendered and parsed.
- :mod:`.jsonlog`: the Telemetry API envelope and the JSON log format.
- :mod:`.schemas`: one JSON Schema per telemetry event type.
"""
