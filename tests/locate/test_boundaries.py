"""Loading boundary sets: formats, CRS, hierarchy, and a typed error for every bad file."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lapor_router import BoundaryError, check_boundaries, load_boundaries
from lapor_router.locate import normalize_code

from conftest import shared_file, toy_frame


def test_jakarta_set_has_267_kelurahan_with_hierarchy(jakarta):
    assert len(jakarta) == 267
    i = jakarta.index_of("31.71.01.1001")
    assert jakarta.names[i] == "Gambir"
    assert jakarta.kecamatan_codes[i] == "31.71.01" and jakarta.kecamatan_names[i] == "Gambir"
    assert jakarta.kota_names[i] == "Kota Administrasi Jakarta Pusat"
    assert jakarta.provinsi_codes[i] == "31"
    assert len(set(jakarta.kecamatan_codes)) == 44 and len(set(jakarta.kota_codes)) == 6
    assert list(jakarta.codes) == sorted(jakarta.codes)
    assert all(shapely.get_srid(jakarta.geoms) == 0)  # plain lon/lat arrays


def test_geojson_and_parquet_give_the_same_set(jakarta):
    gj = load_boundaries(shared_file("jakarta_kel.geojson"))
    assert list(gj.codes) == list(jakarta.codes)
    assert shapely.equals_exact(gj.geoms, jakarta.geoms, tolerance=1e-9).all()
    # without the outline files the names come from the committed registry
    assert list(gj.kecamatan_names) == list(jakarta.kecamatan_names)
    assert gj.sha256 != jakarta.sha256


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_geopackage_and_shapefile(tmp_path: Path, driver: str, suffix: str):
    path = tmp_path / f"toy{suffix}"
    toy_frame().to_file(path, driver=driver, engine="pyogrio")
    bs = load_boundaries(path)
    assert list(bs.codes) == sorted(toy_frame().kode)
    assert bs.names[bs.index_of("99.01.01.1002")] == "Bravo"


def test_projected_file_is_reprojected_to_degrees(tmp_path: Path, toy):
    path = tmp_path / "utm.parquet"
    toy_frame().to_crs("EPSG:32748").to_parquet(path)
    bs = load_boundaries(path)
    assert np.allclose(shapely.bounds(bs.geoms), shapely.bounds(toy.geoms), atol=1e-7)


def test_file_without_crs_needs_crs_argument(tmp_path: Path):
    frame = toy_frame().set_crs(None, allow_override=True)
    path = tmp_path / "nocrs.parquet"
    frame.to_parquet(path)
    with pytest.raises(BoundaryError, match=r"unknown CRS") as info:
        load_boundaries(path)
    assert "nocrs.parquet" in str(info.value)
    assert len(load_boundaries(path, crs="EPSG:4326")) == 5


def test_missing_code_column_is_named(tmp_path: Path):
    path = tmp_path / "nocode.parquet"
    toy_frame().rename(columns={"kode": "id_wilayah"}).to_parquet(path)
    with pytest.raises(BoundaryError, match=r"missing code column") as info:
        load_boundaries(path)
    assert str(path) in str(info.value)
    assert len(load_boundaries(path, code_col="id_wilayah")) == 5


def test_duplicate_codes_are_refused():
    frame = toy_frame()
    frame.loc[1, "kode"] = frame.loc[0, "kode"]
    with pytest.raises(BoundaryError, match=r"duplicate code.*99.01.01.1001"):
        load_boundaries(frame)


def test_empty_geometry_is_refused():
    frame = toy_frame()
    frame.loc[2, "geometry"] = shapely.Polygon()
    with pytest.raises(BoundaryError, match=r"empty or missing geometry.*99.01.02.1001"):
        load_boundaries(frame)


def test_non_polygon_geometry_is_refused():
    frame = toy_frame()
    frame.loc[0, "geometry"] = shapely.Point(106.0, -6.0)
    with pytest.raises(BoundaryError, match=r"non-polygon"):
        load_boundaries(frame)


def test_invalid_geometry_is_refused_unless_repaired():
    frame = toy_frame()
    bowtie = shapely.Polygon([(106.2, -6.0), (106.21, -6.01), (106.21, -6.0), (106.2, -6.01)])
    frame.loc[3, "geometry"] = bowtie
    with pytest.raises(BoundaryError, match=r"invalid geometr.*repair=True"):
        load_boundaries(frame)
    bs = load_boundaries(frame, repair=True)
    assert shapely.is_valid(bs.geoms).all()
    assert shapely.area(bs.geoms[bs.index_of("99.01.02.1002")]) == pytest.approx(
        shapely.area(shapely.make_valid(bowtie))
    )


def test_unreadable_file_gets_a_boundary_error(tmp_path: Path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(BoundaryError, match=r"broken.parquet.*cannot be read"):
        load_boundaries(path)
    with pytest.raises(BoundaryError, match=r"file not found"):
        load_boundaries(tmp_path / "nothing.geojson")


def test_empty_file_is_refused(tmp_path: Path):
    path = tmp_path / "empty.parquet"
    toy_frame().iloc[:0].to_parquet(path)
    with pytest.raises(BoundaryError, match=r"no features"):
        load_boundaries(path)


def test_kecamatan_file_missing_a_parent_is_refused(tmp_path: Path):
    kec = gpd.read_parquet(shared_file("jakarta_kec.parquet"))
    path = tmp_path / "kec.parquet"
    kec[kec.kode != "31.71.01"].to_parquet(path)
    with pytest.raises(BoundaryError, match=r"no kecamatan for code\(s\) \['31.71.01'\]"):
        load_boundaries(shared_file("jakarta_kel.parquet"), kecamatan=path)


def test_code_normalization():
    assert normalize_code("3171011001") == "31.71.01.1001"
    assert normalize_code(" 31.71.01.1001 ") == "31.71.01.1001"
    assert normalize_code("3171") == "31.71"
    assert normalize_code(None) is None and normalize_code("") is None
    assert normalize_code("X-1") == "X-1"


def test_check_finds_what_source_md_states():
    report = check_boundaries(shared_file("jakarta_kel.parquet"))
    d = report.as_dict()
    assert (d["kelurahan"], d["kecamatan"], d["kota"]) == (267, 44, 6)
    assert d["overlapping_pairs"] == 479
    assert d["mainland_holes"] == 896
    assert d["vertices"] == 13976
    assert (d["polygons"], d["multipolygons"]) == (257, 10)
    assert d["invalid"] == []
    assert 0.36e6 < d["overlap_area_m2"] < 0.37e6
    assert report.overlaps[0][2] == pytest.approx(5631, abs=1)
    assert d["largest_hole_m2"] == pytest.approx(11490, abs=1)


def test_check_reports_invalid_outlines():
    report = check_boundaries(shared_file("jakarta_kec.parquet"))
    assert report.kelurahan == 44
    # SOURCE.md: a few outlines are invalid; Kepulauan Seribu Utara's islands nest shells
    assert [code for code, _ in report.invalid] == ["31.01.01"]
    assert "Nested shells" in report.invalid[0][1]


def test_check_on_toy_counts_overlap_and_hole(toy):
    report = check_boundaries(toy_frame())
    assert [(a, b) for a, b, _ in report.overlaps] == [("99.01.01.1002", "99.01.02.1001")]
    # B∩C is 0.002° wide, 0.010° tall: about 221 m × 1106 m
    assert report.overlaps[0][2] == pytest.approx(221 * 1106, rel=0.02)
    # the hole in A, and the 55 m gap between C and D is not a hole (it is open to the outside)
    assert len(report.holes) == 1
