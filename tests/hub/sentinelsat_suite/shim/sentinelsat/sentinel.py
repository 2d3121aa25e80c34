"""``sentinelsat.sentinel``'s module-level parsers, which the suite calls directly: eokit's public
parsers of the same DHuS answers (``eokit.hub.dhus_query``)."""

from eokit.hub.dhus_query import format_order_by as _format_order_by  # noqa: F401
from eokit.hub.dhus_query import parse_odata_timestamp as _parse_odata_timestamp  # noqa: F401
from eokit.hub.dhus_query import parse_opensearch_entries


def _parse_opensearch_response(products):
    return parse_opensearch_entries(products)
