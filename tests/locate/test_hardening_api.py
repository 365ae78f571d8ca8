"""The library API under fuzzing: every value ``locate`` and ``locate_many`` may be handed
gives a Location (status ``invalid`` with a reason where it cannot be a coordinate), or a
CoordinateError for a shape mistake; never another exception, never a silent wrong answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lapor_router import STATUSES, Location, Router
from lapor_router.errors import CoordinateError
from lapor_router.normalize import REASONS

MONAS = (106.8272, -6.1754)
GAMBIR = "31.71.01.1001"
LONS = [MONAS[0]] * 3
LATS = [MONAS[1]] * 3


@pytest.fixture(scope="module")
def jkt(jakarta) -> Router:
    return Router(jakarta)


def _why(loc: Location) -> tuple[str, str | None]:
    return loc.status, loc.invalid_reason


def _col(frame: pd.DataFrame, name: str) -> list[object]:
    return [None if pd.isna(v) else v for v in frame[name].astype(object)]


# ------------------------------------------------ finding 1: values that used to raise


@pytest.mark.parametrize(
    "big",
    [10**400, -(10**400), 2**1024, Fraction(10**400, 3), Decimal("1e400"), "1e400"],
    ids=["10**400", "-10**400", "2**1024", "fraction", "decimal", "text"],
)
def test_numbers_beyond_float64_are_out_of_range(jkt, big):
    assert _why(jkt.locate(big, MONAS[1])) == ("invalid", "out_of_range")
    assert _why(jkt.locate(MONAS[0], big)) == ("invalid", "out_of_range")
    loc = jkt.locate(*MONAS, accuracy_m=big)
    assert loc.nama == "Gambir" and "invalid_accuracy" in loc.flags
    frame = jkt.locate_many([big, MONAS[0]], LATS[:2], accuracy_m=[5, big])
    assert _col(frame, "invalid_reason") == ["out_of_range", None]
    assert frame["flags"].iat[1] == {"invalid_accuracy"}


TIMES = [
    np.timedelta64(5, "s"),
    np.datetime64("2020-01-01"),
    dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    dt.date(2020, 1, 1),
    dt.time(12, 0),
    dt.timedelta(seconds=5),
    pd.Timestamp("2020-01-01"),
    pd.Timedelta("5s"),
]


@pytest.mark.parametrize("value", TIMES, ids=lambda v: type(v).__name__)
def test_times_and_durations_are_not_numbers(jkt, value):
    assert _why(jkt.locate(value, MONAS[1])) == ("invalid", "not_a_number")
    assert _why(jkt.locate(MONAS[0], value)) == ("invalid", "not_a_number")
    loc = jkt.locate(*MONAS, accuracy_m=value)
    assert loc.nama == "Gambir" and "invalid_accuracy" in loc.flags


@pytest.mark.parametrize(
    "column",
    [
        np.array([1, 2, "NaT"], dtype="m8[s]"),
        np.array(["2020-01-01", "2021-06-01", "NaT"], dtype="M8[D]"),
        pd.Series(pd.to_datetime(["2020-01-01", "2021-06-01", None])),
        pd.Series(pd.to_datetime(["2020-01-01", "2021-06-01", None]).tz_localize("Asia/Jakarta")),
        pd.Series(pd.to_timedelta(["1s", "2s", None])),
        [np.timedelta64(1, "s"), np.datetime64("2020"), np.timedelta64("NaT")],
    ],
    ids=["timedelta64", "datetime64", "datetimes", "aware", "timedeltas", "list"],
)
def test_time_columns_are_not_numbers_and_nat_is_missing(jkt, column):
    frame = jkt.locate_many(column, LATS)
    assert _col(frame, "invalid_reason") == ["not_a_number", "not_a_number", "missing"]
    frame = jkt.locate_many(LONS, LATS, accuracy_m=column)
    assert list(frame["flags"]) == [{"invalid_accuracy"}, {"invalid_accuracy"}, set()]


@pytest.mark.parametrize(
    "value,reason",
    [
        (Decimal("NaN"), "missing"),
        (Decimal("-NaN"), "missing"),
        (Decimal("sNaN"), "missing"),
        (Decimal("-sNaN"), "missing"),
        (Decimal("Infinity"), "not_finite"),
        (Decimal("-Infinity"), "not_finite"),
    ],
)
def test_decimal_nan_is_missing_and_decimal_infinity_not_finite(jkt, value, reason):
    assert _why(jkt.locate(value, MONAS[1])) == ("invalid", reason)
    assert _why(jkt.locate(MONAS[0], value)) == ("invalid", reason)
    frame = jkt.locate_many([value, MONAS[0]], LATS[:2])
    assert _col(frame, "invalid_reason") == [reason, None]
    loc = jkt.locate(*MONAS, accuracy_m=value)  # a NaN accuracy is no accuracy
    assert ("invalid_accuracy" in loc.flags) == (reason == "not_finite")


def test_decimals_and_fractions_are_numbers(jkt):
    for lon, lat in (
        (Decimal("106.8272"), Decimal("-6.1754")),
        (Fraction("106.8272"), Fraction("-6.1754")),
        (np.float32(106.8272), np.longdouble("-6.1754")),
    ):
        assert jkt.locate(lon, lat).kode == GAMBIR
        assert list(jkt.locate_many([lon, lon], [lat, lat])["kode"]) == [GAMBIR] * 2
    loc = jkt.locate(*MONAS, accuracy_m=Fraction(5))
    assert loc.accuracy_shares == ((GAMBIR, 1.0),) and not loc.flags


def test_zero_dimensional_arrays_are_their_scalar(jkt):
    loc = jkt.locate(
        np.array(MONAS[0]), np.array(MONAS[1]), accuracy_m=np.array(5.0), claimed=np.array("Gambir")
    )
    assert (loc.kode, loc.claimed_kode, loc.accuracy_shares) == (GAMBIR, GAMBIR, ((GAMBIR, 1.0),))
    assert _why(jkt.locate(np.array(np.nan), MONAS[1])) == ("invalid", "missing")
    assert _why(jkt.locate(np.array("abc"), MONAS[1])) == ("invalid", "not_a_number")
    assert _why(jkt.locate(np.array(np.array(1.5j)), MONAS[1])) == ("invalid", "not_a_number")
    frame = jkt.locate_many(
        [np.array(v) for v in LONS],
        [np.array(v) for v in LATS],
        accuracy_m=[np.array(5.0)] * 3,
        claimed=[np.array("Gambir")] * 3,
    )
    assert list(frame["kode"]) == list(frame["claimed_kode"]) == [GAMBIR] * 3
    assert all(not f for f in frame["flags"])


# ------------------------------------------------------------ finding 2: shape mistakes


@pytest.mark.parametrize("length", [0, 2, 4])
@pytest.mark.parametrize("arg", ["accuracy_m", "claimed"])
@pytest.mark.parametrize("kind", [list, np.array, pd.Series])
def test_an_extra_column_of_another_length_raises_a_coordinate_error(jkt, arg, length, kind):
    values = kind([5.0] * length if arg == "accuracy_m" else ["Gambir"] * length)
    with pytest.raises(CoordinateError, match=rf"^{arg} has {length} values for 3 points"):
        jkt.locate_many(LONS, LATS, **{arg: values})


@pytest.mark.parametrize("accuracy", [5, 5.0, np.float64(5), np.array(5.0), [5], "5"], ids=repr)
def test_a_scalar_extra_column_still_broadcasts(jkt, accuracy):
    frame = jkt.locate_many(LONS, LATS, accuracy_m=accuracy, claimed=np.str_("Gambir"))
    assert list(frame["accuracy_shares"]) == [((GAMBIR, 1.0),)] * 3
    assert list(frame["claimed_kode"]) == [GAMBIR] * 3


def test_shape_mistakes_raise_a_coordinate_error_naming_the_argument(jkt):
    rec = np.rec.fromarrays([LONS, LATS], names="lon,lat")
    with pytest.raises(CoordinateError, match=r"^lons is a structured array \(fields lon, lat\)"):
        jkt.locate_many(rec, LATS)
    grid = np.array([LONS, LATS])
    with pytest.raises(CoordinateError, match=r"^lats has shape \(2, 3\)"):
        jkt.locate_many(LONS, grid)
    with pytest.raises(CoordinateError, match=r"^accuracy_m has shape \(3, 2\)"):
        jkt.locate_many(LONS, LATS, accuracy_m=np.ones((3, 2)))
    with pytest.raises(CoordinateError, match=r"^lons is a table of 2 columns"):
        jkt.locate_many(pd.DataFrame({"lon": LONS, "lat": LATS}), LATS)
    with pytest.raises(CoordinateError, match=r"^claimed is a set"):
        jkt.locate_many(LONS, LATS, claimed={"Gambir"})
    with pytest.raises(CoordinateError, match=r"^lons is a dict"):
        jkt.locate_many({MONAS[0]: MONAS[1]}, [MONAS[1]])


def test_a_column_or_row_vector_a_record_field_or_a_one_column_table_is_a_column(jkt):
    rec = np.rec.fromarrays([LONS, LATS], names="lon,lat")
    for lons, lats in (
        (np.array(LONS).reshape(3, 1), np.array(LATS).reshape(1, 3)),
        (rec["lon"], rec.lat),
        (pd.DataFrame({"lon": LONS}), pa.table({"lat": LATS})),
    ):
        assert list(jkt.locate_many(lons, lats)["kode"]) == [GAMBIR] * 3


def test_elements_that_are_not_values_are_invalid_rows(jkt):
    frame = jkt.locate_many([[MONAS[0]], np.array([MONAS[0]]), MONAS[0]], LATS)
    assert _col(frame, "invalid_reason") == ["not_a_number", "not_a_number", None]


# ------------------------------------------------------- finding 3: silent wrong answers

NULL_LATS = [MONAS[1], None, MONAS[1]]


@pytest.mark.parametrize(
    "lons,lats",
    [
        (pa.array(LONS), pa.array(NULL_LATS)),
        (pa.chunked_array([LONS[:1], LONS[1:]]), pa.chunked_array([NULL_LATS[:2], NULL_LATS[2:]])),
        (
            pa.array(LONS, pa.float32()),
            pa.array([Decimal("-6.1754"), None, Decimal("-6.1754")], pa.decimal128(12, 6)),
        ),
        (pa.array([str(v) for v in LONS]), pa.array(["-6.1754", None, "-6,1754"], pa.string())),
        (pd.Series(LONS, dtype="float64[pyarrow]"), pd.Series(NULL_LATS, dtype="float64[pyarrow]")),
        (
            pd.Series([str(v) for v in LONS], dtype="string[pyarrow]"),
            pd.Series(["-6.1754", None, "-6,1754"], dtype="string[pyarrow]"),
        ),
        (pd.array(LONS, dtype="float64[pyarrow]"), pd.Index(NULL_LATS, dtype="float64[pyarrow]")),
        ([pa.scalar(v) for v in LONS], [pa.scalar(v, pa.float64()) for v in NULL_LATS]),
    ],
    ids=[
        "array",
        "chunked",
        "float32-decimal",
        "string",
        "series",
        "string-series",
        "ext",
        "scalars",
    ],
)
def test_arrow_values_are_read_and_nulls_are_missing(jkt, lons, lats):
    frame = jkt.locate_many(lons, lats)
    assert _col(frame, "kode") == [GAMBIR, None, GAMBIR]
    assert _col(frame, "invalid_reason") == [None, "missing", None]


def test_arrow_accuracy_and_claims_read_nulls_as_not_given(jkt):
    for accuracy, claimed in (
        (pa.array([5.0, None, -1.0]), pa.array(["Gambir", None, "Zulu"])),
        (
            pd.Series([5.0, None, -1.0], dtype="float64[pyarrow]"),
            pd.Series(["Gambir", None, "Zulu"], dtype="string[pyarrow]"),
        ),
    ):
        frame = jkt.locate_many(LONS, LATS, accuracy_m=accuracy, claimed=claimed)
        assert list(frame["flags"]) == [set(), set(), {"invalid_accuracy", "claimed_unknown"}]
        assert list(frame["accuracy_shares"]) == [((GAMBIR, 1.0),), (), ()]
        assert _col(frame, "claimed_kode") == [GAMBIR, None, None]
    assert jkt.locate(*MONAS, accuracy_m=pa.scalar(5.0), claimed=pa.scalar("Gambir")).flags == set()
    assert jkt.locate(*MONAS, claimed=pd.NA).flags == set()


def test_masked_elements_are_missing(jkt):
    mask = [False, True, False]
    for lons in (np.ma.masked_array(LONS, mask=mask), np.ma.masked_array([106, 999, 106], mask)):
        frame = jkt.locate_many(lons, np.ma.masked_array(LATS))
        assert _col(frame, "invalid_reason") == [None, "missing", None]
    frame = jkt.locate_many(
        LONS,
        LATS,
        accuracy_m=np.ma.masked_array([5.0, -1.0, 5.0], mask=mask),
        claimed=np.ma.masked_array(["Gambir", "Zulu", "Gambir"], mask=mask),
    )
    assert list(frame["flags"]) == [set()] * 3
    assert _col(frame, "claimed_kode") == [GAMBIR, None, GAMBIR]
    assert _why(jkt.locate(np.ma.masked, MONAS[1])) == ("invalid", "missing")
    strings = np.ma.masked_array(["106.8272", "x", "106,8272"], mask=mask)
    assert _col(jkt.locate_many(strings, LATS), "invalid_reason") == [None, "missing", None]


@pytest.mark.parametrize(
    "value",
    [
        complex(MONAS[0], 1.0),
        complex(MONAS[0], 0.0),
        np.complex128(MONAS[0]),
        np.complex64(MONAS[0] + 2j),
        np.clongdouble(MONAS[0]),
    ],
    ids=repr,
)
def test_complex_numbers_are_not_numbers_even_with_a_zero_imaginary_part(jkt, value):
    assert _why(jkt.locate(value, MONAS[1])) == ("invalid", "not_a_number")
    assert _why(jkt.locate(MONAS[0], value)) == ("invalid", "not_a_number")
    assert "invalid_accuracy" in jkt.locate(*MONAS, accuracy_m=value).flags
    for column in ([value] * 3, np.array([value] * 3), pd.Series([value] * 3)):
        frame = jkt.locate_many(column, LATS, accuracy_m=column)
        assert _col(frame, "invalid_reason") == ["not_a_number"] * 3
        assert list(frame["flags"]) == [{"invalid_coordinates", "invalid_accuracy"}] * 3


# ----------------------------------------------------- finding 4: any value, any column

numbers = st.one_of(
    st.floats(),
    st.floats(105.5, 108.0),  # around Jakarta: the lookup paths, not only rejections
    st.floats(-7.0, -5.0),
    st.integers(),
    st.builds(
        lambda sign, digits: sign * 10**digits, st.sampled_from([-1, 1]), st.integers(0, 500)
    ),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("sNaN"), Decimal("-sNaN"), Decimal("1e400"), Decimal("-NaN")]),
    st.fractions(),
    st.complex_numbers(),
    st.booleans(),
)
numpy_dtypes = st.one_of(
    hnp.scalar_dtypes(),
    hnp.unicode_string_dtypes(max_len=6),
    hnp.byte_string_dtypes(max_len=6),
    st.sampled_from([np.dtype(np.longdouble), np.dtype(np.clongdouble)]),
)
raw_bytes = st.binary(min_size=2, max_size=2)  # numpy's void ("V2") values
numpy_scalars = st.one_of(
    numpy_dtypes.flatmap(lambda d: hnp.arrays(d, ())).map(lambda a: a[()]),
    raw_bytes.map(np.void),
)
arrow_scalars = st.one_of(
    st.floats().map(pa.scalar),
    st.integers(-(2**63), 2**63 - 1).map(pa.scalar),
    st.text(max_size=6).map(pa.scalar),
    st.binary(max_size=6).map(pa.scalar),
    st.none().map(lambda _: pa.scalar(None)),
    st.none().map(lambda _: pa.scalar(None, pa.float64())),
    st.dates().map(pa.scalar),
    st.decimals(places=3, min_value=-(10**6), max_value=10**6).map(pa.scalar),
    st.lists(st.floats(), max_size=2).map(pa.scalar),
)
others = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.floats(105.5, 108.0).map(str),
    st.floats(-7.0, -5.0).map(lambda v: f" {v:.4f} ".replace(".", ",")),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.sampled_from([pd.NA, pd.NaT, pd.Timestamp("2020-01-01"), pd.Timedelta("1s"), np.ma.masked]),
    st.builds(object),
    st.just(Ellipsis),
    st.lists(st.floats(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
values = st.one_of(numbers, numpy_scalars, arrow_scalars, others)

single_values = values.filter(lambda v: not isinstance(v, list | dict))  # those are columns


def _zero_d(v: object) -> np.ndarray:
    a = np.empty((), dtype=object)
    a[()] = v
    return a


def _numpy_arrays(shape: int | tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return st.one_of(
        numpy_dtypes.flatmap(lambda d: hnp.arrays(d, shape)),
        hnp.arrays(np.dtype("V2"), shape, elements=raw_bytes.map(np.void)),
    )


zero_d = st.one_of(values.map(_zero_d), _numpy_arrays(()))
anything = st.one_of(
    values, zero_d, st.integers(0, 4).flatmap(_numpy_arrays), st.lists(values, max_size=4)
)


@st.composite
def columns(draw: st.DrawFn, n: int) -> object:
    """A column of n values, in every container locate_many takes."""
    kind = draw(st.integers(0, 8))
    if kind == 0:
        return draw(st.lists(values, min_size=n, max_size=n))
    if kind == 1:
        return draw(_numpy_arrays(n))
    if kind == 2:
        data = draw(_numpy_arrays(n))
        return np.ma.masked_array(data, mask=draw(hnp.arrays(np.bool_, n)))
    if kind == 3:
        floats = draw(st.lists(st.one_of(st.floats(), st.none()), min_size=n, max_size=n))
        container = draw(st.sampled_from(["pa", "chunked", "Float64", "float64[pyarrow]"]))
        if container == "pa":
            return pa.array(floats, pa.float64())
        if container == "chunked":
            return pa.chunked_array([pa.array(floats, pa.float64())])
        return pd.Series(floats, dtype=container)
    if kind == 4:
        texts = draw(st.lists(st.one_of(st.text(max_size=6), st.none()), min_size=n, max_size=n))
        container = draw(st.sampled_from(["pa", "string[pyarrow]", "string", "object"]))
        return (
            pa.array(texts, pa.string()) if container == "pa" else pd.Series(texts, dtype=container)
        )
    if kind == 5:
        return pd.Series(draw(st.lists(values, min_size=n, max_size=n)), dtype=object)
    if kind == 6:
        return draw(st.lists(zero_d, min_size=n, max_size=n))
    if kind == 7:
        return draw(hnp.arrays(draw(hnp.scalar_dtypes()), (n, 1)))
    return draw(single_values) if n == 1 else draw(st.lists(values, min_size=n, max_size=n))


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(loc: Location) -> None:
    assert loc.status in STATUSES
    if loc.status == "invalid":
        assert loc.invalid_reason in REASONS[1:] and loc.kode is None
    else:
        assert loc.invalid_reason is None


@FUZZ
@given(lon=anything, lat=anything, accuracy=anything, claimed=anything)
def test_locate_takes_any_value(jkt, lon, lat, accuracy, claimed):
    _check(jkt.locate(lon, lat, accuracy_m=accuracy, claimed=claimed))
    _check(jkt.locate(lon, lat))


@FUZZ
@given(data=st.data(), n=st.integers(0, 5))
def test_locate_many_takes_any_column(jkt, data, n):
    from lapor_router.locate import locations

    lons, lats = data.draw(columns(n), "lons"), data.draw(columns(n), "lats")
    extra = st.one_of(st.none(), single_values, columns(n))
    accuracy, claimed = data.draw(extra, "accuracy_m"), data.draw(extra, "claimed")
    frame = jkt.locate_many(lons, lats, accuracy_m=accuracy, claimed=claimed)
    assert len(frame) == n
    for loc in locations(frame):
        _check(loc)


@FUZZ
@given(lengths=st.lists(st.integers(0, 4), min_size=4, max_size=4))
def test_only_lengths_that_cannot_be_paired_raise(jkt, lengths):
    n_lon, n_lat, n_acc, n_claim = lengths
    args = ([MONAS[0]] * n_lon, [MONAS[1]] * n_lat, [5.0] * n_acc, ["Gambir"] * n_claim)
    pairs = n_lon == n_lat and all(k in (1, n_lon) for k in (n_acc, n_claim))
    try:
        frame = jkt.locate_many(*args)
    except CoordinateError:
        assert not pairs
    else:
        assert pairs and len(frame) == n_lon
