"""A QGIS project with Clearlane's origins GeoJSON as it is, graduated by ``fraud_rate``
(run with the system Python that has PyQGIS; used by scripts/qgis_screenshot.sh)."""

import sys

from qgis.core import (
    QgsApplication,
    QgsClassificationJenks,
    QgsFillSymbol,
    QgsGradientColorRamp,
    QgsGraduatedSymbolRenderer,
    QgsProject,
    QgsReferencedRectangle,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

source, target = sys.argv[1], sys.argv[2]
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(source, "fraud rate by origin (Clearlane)", "ogr")
if not layer.isValid():
    raise SystemExit(f"QGIS could not open {source}")
# the same file once more, underneath in grey: countries without a fraud rate (no inspection)
base = QgsVectorLayer(source, "all countries", "ogr")
base.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
    {"color": "#dddddd", "outline_color": "#ffffff", "outline_width": "0.1"})))
renderer = QgsGraduatedSymbolRenderer("fraud_rate")
renderer.setClassificationMethod(QgsClassificationJenks())
renderer.updateClasses(layer, 5)
renderer.updateColorRamp(QgsGradientColorRamp(QColor("#fee5d9"), QColor("#a50f15")))
layer.setRenderer(renderer)
project = QgsProject.instance()
project.addMapLayer(base)
project.addMapLayer(layer)
project.viewSettings().setDefaultViewExtent(QgsReferencedRectangle(layer.extent(), layer.crs()))
project.write(target)
print(f"{layer.featureCount()} features, CRS {layer.crs().authid()}")
app.exitQgis()
