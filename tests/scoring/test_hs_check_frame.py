"""The HS check's version in `select` is the HS classifier's version in the model registry."""

from __future__ import annotations

import polars as pl

from clearlane.models import registry
from clearlane.services.selection import hs_check_frame
from clearlane.store.workspace import Workspace


def test_hs_check_version_is_the_registry_version(trained_workspace: Workspace,
                                                  declarations: pl.DataFrame) -> None:
    frame = hs_check_frame(trained_workspace, declarations.head(20))
    record = registry.get_model(trained_workspace, kind="hs")
    assert frame.available and frame.version == record.version
    assert record.version.startswith("hs-")
