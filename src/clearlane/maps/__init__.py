"""Trade maps drawn without any tile server: country geometry converted at build time from the
npm package ``world-atlas`` (:mod:`clearlane.maps.geometry`), projected to SVG paths with a
classed colour scale and flow lines (:mod:`clearlane.maps.svg`), and GeoJSON that opens as is
in QGIS (:mod:`clearlane.maps.geojson`). No web framework here: the pages and the API use it."""
