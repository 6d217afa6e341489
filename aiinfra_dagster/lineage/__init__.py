"""The lineage audit: what produced the deployed Bento, and what one raw document reaches.

`audit` (deployed Bento -> champion -> training set -> ... -> raw documents), `document` (one document's chunks,
training sets, index versions and deployments), `render` (markdown and report files), `hops` (matching a recorded
identifier to the materialization that produced it), `catalog` (materializations and time-travel reads, each read
once). A module imports only modules listed after it (render names the result types for the type checker only),
so the package has no import cycle.
"""
