"""Outputs kept apart from inputs, what --force may replace, and outputs the system refuses
(docs/decisions.md, "Outputs and --force"): every command that writes refuses, with exit 2
(usage, cohort-format.md §4), an --out that is, holds or lies inside one of its inputs, and
leaves the input as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from srnskit.atomic import atomic_directory, atomic_file, check_apart, location_file
from srnskit.errors import UsageError
from srnskit.examples import path as example_path

INTERCHANGE = Path(__file__).parent / "data" / "interchange"


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """A copy of the small example cohort, inside a parent folder of its own."""
    target = tmp_path / "parent" / "cohort"
    shutil.copytree(example_path("small"), target)
    return target


def test_an_export_onto_its_own_cohort_is_refused_and_the_cohort_kept(cli, cohort) -> None:
    before = _listing(cohort)
    result = cli("fhir", "export", cohort, "--out", cohort, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: --out {cohort} is the input {cohort}: writing it would replace the "
        "data it is made from; give another --out\n"
    )
    assert _listing(cohort) == before


@pytest.mark.parametrize(
    "words",
    [
        ("fhir", "export"),
        ("omop", "export"),
        ("derive",),
    ],
)
def test_an_out_holding_the_cohort_is_refused(cli, cohort, words) -> None:
    parent = cohort.parent
    before = _listing(parent)
    result = cli(*words, cohort, "--out", parent, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: --out {parent} holds the input {cohort}: writing it would delete "
        "that input; give another --out\n"
    )
    assert _listing(parent) == before


def test_redcap_export_onto_a_table_of_its_cohort_is_refused(cli, cohort) -> None:
    before = _listing(cohort)
    out = cohort / "patients.csv"
    result = cli("redcap", "export", cohort, "--out", out, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: --out {out} is inside the input {cohort}: srnskit does not write "
        "into its sources; give --out a path outside it\n"
    )
    assert _listing(cohort) == before


def test_redcap_import_into_the_folder_of_its_export_is_refused(cli, tmp_path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    export = project / "MyProject_DATA.csv"
    shutil.copyfile(INTERCHANGE / "redcap" / "foreign_labels.csv", export)
    result = cli("redcap", "import", export, "--out", project, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: --out {project} holds the input {export}: writing it would delete "
        "that input; give another --out\n"
    )
    assert export.read_bytes() == (INTERCHANGE / "redcap" / "foreign_labels.csv").read_bytes()


def test_fhir_import_into_the_folder_of_its_bundle_is_refused(cli, tmp_path) -> None:
    folder = tmp_path / "fh"
    folder.mkdir()
    bundle = folder / "bundle.json"
    shutil.copyfile(INTERCHANGE / "fhir" / "hospital_bundle.json", bundle)
    result = cli("fhir", "import", bundle, "--out", folder, "--force")
    assert result.exit_code == 2
    assert "holds the input" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["bundle.json"]


def test_omop_import_onto_its_parquet_folder_is_refused(cli, tmp_path) -> None:
    folder = tmp_path / "opin"
    folder.mkdir()
    (folder / "person.parquet").write_bytes(b"kept")
    result = cli("omop", "import", folder, "--out", folder, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: --out {folder} is the input {folder}: writing it would replace the "
        "data it is made from; give another --out\n"
    )
    assert (folder / "person.parquet").read_bytes() == b"kept"


def test_a_symbolic_link_to_the_input_is_the_input(cli, cohort, tmp_path) -> None:
    link = tmp_path / "link"
    link.symlink_to(cohort)
    result = cli("derive", link, "--out", cohort, "--force")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"srnskit: error: --out {cohort} is the input {link}:")


def test_a_database_url_counts_as_its_file(tmp_path) -> None:
    database = tmp_path / "cdm.duckdb"
    assert location_file(f"duckdb://{database}") == database
    assert location_file("sqlite:///srnskit.db") == Path("srnskit.db")
    assert location_file("sqlite:////srv/db/srnskit.db") == Path("/srv/db/srnskit.db")
    assert location_file("postgresql+psycopg://user@host/db") is None
    with pytest.raises(UsageError) as caught:
        check_apart(f"duckdb://{database}", [f"duckdb://{database}"])
    assert str(caught.value) == (
        f"--out duckdb://{database} is the input duckdb://{database}: writing it would replace "
        "the data it is made from; give another --out"
    )
    check_apart(tmp_path / "out", ["postgresql://user@host/db", None])  # nothing to compare


def test_a_file_uri_counts_as_its_path_and_two_cluster_uris_are_compared_as_places(
    tmp_path,
) -> None:
    # file:///PATH and file:/PATH name the path as Hadoop reads it (no %-decoding)
    assert location_file("file:///data/c%201") == Path("/data/c%201")
    assert location_file("file:/data/c1") == Path("/data/c1")
    assert location_file("file:c1") == Path("c1")  # Hadoop's relative file URI
    assert location_file("hdfs:/srns/c1") is None  # the default NameNode's, no local file
    with pytest.raises(UsageError, match="is inside the input"):
        check_apart(f"{tmp_path.as_uri()}/cohort/out", [tmp_path / "cohort"])
    # hdfs:// (or s3a://) out and cohort: the same folder, one inside the other, or apart
    with pytest.raises(UsageError) as caught:
        check_apart("hdfs://nn:8020/srns/c1/", ["hdfs://nn:8020/srns/c1"])
    assert str(caught.value) == (
        "--out hdfs://nn:8020/srns/c1/ is the input hdfs://nn:8020/srns/c1: writing it would "
        "replace the data it is made from; give another --out"
    )
    with pytest.raises(UsageError, match="holds the input"):
        check_apart("hdfs://nn:8020/srns", ["hdfs://nn:8020/srns/c1"])
    with pytest.raises(UsageError, match="is inside the input"):
        check_apart("s3a://bucket/c1/derived", ["s3a://bucket/c1"])
    check_apart("hdfs://nn:8020/srns/derived", ["hdfs://nn:8020/srns/c1", tmp_path / "c1"])
    check_apart("hdfs://nn:8020/srns/c10", ["hdfs://nn:8020/srns/c1"])  # a sibling, not inside


# One place written two ways, or two places: (out, input, the refusal's words or None)
@pytest.mark.parametrize(
    ("out", "given", "refused"),
    [
        # HDFS's default port (8020) named or not, the scheme and host in capitals, a slash
        # doubled (RFC 3986 §6.2.2.1; Hadoop's Path), an IPv6 NameNode
        ("hdfs://nn:8020/srns/c1/derived", "hdfs://nn/srns/c1", "is inside the input"),
        ("HDFS://NN/srns", "hdfs://nn:8020/srns//c1", "holds the input"),
        ("s3a://Bucket/c1", "s3a://bucket/c1/", "is the input"),
        ("hdfs://[::1]/srns/c1/derived", "hdfs://[::1]:8020/srns/c1", "is inside the input"),
        # Dot segments go as Hadoop's Path removes them; a user names no other place
        ("hdfs://nn/srns/x/../c1", "hdfs://nn/srns/c1", "is the input"),
        ("hdfs://nn/srns/c1/..", "hdfs://nn/srns/c1", "holds the input"),
        ("hdfs://alice@nn/srns/c1/derived", "hdfs://nn/srns/c1", "is inside the input"),
        # Another port is another NameNode; a ? is part of a path (HDFS's folder c1?x)
        ("hdfs://nn:9000/srns/c1/derived", "hdfs://nn/srns/c1", None),
        ("hdfs://[::1]:9000/srns/c1/derived", "hdfs://[::1]/srns/c1", None),
        ("hdfs://nn/srns/c1?x", "hdfs://nn/srns/c1", None),
        # No authority is the default NameNode: its /c1 is not the NameNode c1, nor /nn/c1 nn's
        ("hdfs:///c1", "hdfs://c1", None),
        ("hdfs:///nn/c1/derived", "hdfs://nn/c1", None),
        ("hdfs:///srns/c1/derived", "hdfs:///srns//c1/", "is inside the input"),
        ("hdfs:/srns/c1/derived", "hdfs:///srns/c1", "is inside the input"),
        ("hdfs:/c1", "hdfs://c1", None),
        ("hdfs://nn/..", "hdfs://nn/srns", "holds the input"),
        # A port or host that cannot be read is compared as written (no traceback)
        ("hdfs://nn:x/srns/c1/derived", "hdfs://nn/srns/c1", None),
        ("hdfs://[::1/srns/c1/derived", "hdfs://nn/srns/c1", None),
        ("hdfs://[abc]/srns/c1/derived", "hdfs://nn/srns/c1", None),
    ],
)
def test_two_cluster_uris_are_compared_as_the_places_they_name(
    out: str, given: str, refused: str | None
) -> None:
    if refused is None:
        check_apart(out, [given])
    else:
        with pytest.raises(UsageError, match=refused):
            check_apart(out, [given])


def test_a_cluster_scheme_without_a_slash_names_no_place(cli, cohort, tmp_path) -> None:
    # hdfs:c9 is neither a local folder (srnskit would write ./hdfs:c9) nor a place on the
    # cluster srnskit can name (Hadoop reads it against a working folder there): refused
    # before Spark starts, as an input too
    result = cli("derive", cohort, "--out", "hdfs:c9", "--engine", "spark", "--format", "parquet")
    assert result.exit_code == 2
    assert result.stderr == (
        "srnskit: error: hdfs:c9 names no place: after 'hdfs:' come '//' and a host or bucket "
        "(hdfs://HOST/PATH), or '/' for the cluster's default file system (hdfs:///PATH); a "
        "local folder so named is written ./hdfs:c9\n"
    )
    result = cli("derive", "S3A:bucket/c1", "--out", tmp_path / "d")
    assert result.exit_code == 2
    # a bucket has no default: no 's3a:///PATH' offered
    assert result.stderr == (
        "srnskit: error: S3A:bucket/c1 names no place: after 'S3A:' come '//' and a host or "
        "bucket (S3A://HOST/PATH); a local folder so named is written ./S3A:bucket/c1\n"
    )
    assert not (tmp_path / "d").exists()
    assert not Path("hdfs:c9").exists()


def test_force_refuses_a_folder_holding_what_srnskit_does_not_write(cli, cohort, tmp_path) -> None:
    out = tmp_path / "results"
    (out / "notes").mkdir(parents=True)
    (out / "protocol.docx.bak").write_text("mine")
    (out / "old.csv").write_text("a\n")
    result = cli("derive", cohort, "--out", out, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {out} holds notes/, protocol.docx.bak, which srnskit does not write: "
        "--force replaces only a folder of srnskit's own outputs; move those away or give "
        "another --out\n"
    )
    assert (out / "protocol.docx.bak").read_text() == "mine"


@pytest.mark.slow
def test_force_replaces_a_previous_output(cli, cohort, tmp_path) -> None:
    out = tmp_path / "imported"
    assert cli("fhir", "export", cohort, "--out", tmp_path / "fh").exit_code == 0
    first = cli("fhir", "import", tmp_path / "fh" / "bundle.json", "--out", out)
    assert first.exit_code == 0
    again = cli("fhir", "import", tmp_path / "fh" / "bundle.json", "--out", out, "--force")
    assert again.exit_code == 0, again.stderr
    assert (out / "import" / "skipped.csv").is_file()


@pytest.mark.parametrize("target", ["/sys/x", "/proc/x"])
def test_an_output_the_system_refuses_is_a_usage_error(target) -> None:
    reason = "operation not permitted" if target.startswith("/sys") else "no such file or directory"
    with pytest.raises(UsageError) as caught, atomic_directory(Path(target)):
        pass
    assert str(caught.value) == f"cannot write {target}: {reason}"
    with pytest.raises(UsageError) as caught, atomic_file(Path(target)):
        pass
    assert str(caught.value) == f"cannot write {target}: {reason}"


def test_a_plot_or_report_inside_the_cohort_is_refused(cli, cohort) -> None:
    before = _listing(cohort)
    plot = cohort / "t.svg"
    result = cli("explain", cohort, "P001", "--plot", plot)
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: --plot {plot} is inside the input {cohort}: srnskit does not write "
        "into its sources; give --plot a path outside it\n"
    )
    report = cohort / "r.html"
    result = cli("report", cohort, "--out", report)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"srnskit: error: --out {report} is inside the input {cohort}")
    assert _listing(cohort) == before
