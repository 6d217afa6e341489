import dagster as dg


@dg.asset(group_name="data")
def raw_documents() -> None:
    """stub"""


defs = dg.Definitions(assets=[raw_documents])
