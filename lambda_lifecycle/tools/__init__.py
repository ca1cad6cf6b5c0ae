"""Tools derived from the one lifecycle spec: diagrams, generated documentation, the command line.

Nothing here carries knowledge of its own about the lifecycle: :mod:`.diagram` and :mod:`.docgen`
render ``specs/lifecycle.json`` (as the typed :class:`~lambda_lifecycle.core.spec.Spec`) into
Mermaid, Graphviz DOT, SVG and Markdown, and :mod:`.cli` exposes them as ``lambda-lifecycle``.
"""
