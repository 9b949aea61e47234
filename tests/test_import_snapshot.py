"""The arXiv metadata snapshot: streaming import, bad lines, resuming, concurrent runs,
and what every record goes through (authors, LaTeX, Unicode, HTML, links)."""

import json
import os
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from ingest import snapshot
from ingest.authors import author_key
from ingest.text import clean_abstract, clean_title, find_links, tex_to_unicode
from papers.models import Author, Authorship, Paper, SearchDocument, normalise_name
from search import matching

from .conftest import ROOT, database_url_for_tests
from .recorded_http import FIXTURES

SAMPLE = FIXTURES / "arxiv-snapshot/arxiv-metadata-oai-snapshot.sample.jsonl"


def lines():
    return SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)


def write(tmp_path, rows, name="snapshot.jsonl"):
    path = tmp_path / name
    path.write_text("".join(rows), encoding="utf-8")
    return path


def record(**fields):
    base = json.loads(lines()[1])  # 0704.0002
    return json.dumps(base | fields) + "\n"


def test_it_imports_the_sample(db, capsys):
    call_command("import_snapshot", str(SAMPLE))

    assert "200 created / 0 updated / 0 unchanged / 0 failed" in capsys.readouterr().out
    assert Paper.objects.count() == 200
    assert not Paper.objects.filter(daily_date__isnull=False).exists()  # indexed only
    paper = Paper.objects.get(arxiv_id="0704.0001")
    assert paper.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert paper.version == 2
    assert paper.published_at.isoformat() == "2007-04-02T19:18:42+00:00"
    assert paper.updated_at.isoformat() == "2007-07-24T20:10:27+00:00"
    assert paper.categories == ["hep-ph"] and paper.primary_category == "hep-ph"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"
    assert paper.source["arxiv"]["report-no"] == "ANL-HEP-PR-07-12"
    # authors_parsed, in order, with the TeX accent of "Bal\'azs" resolved.
    names = list(paper.authorships.order_by("position").values_list("author__name", flat=True))
    assert names == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]


def test_latex_is_kept_as_written(db):
    snapshot.import_file(SAMPLE)

    paper = Paper.objects.get(arxiv_id="0704.0002")
    assert r"the $(k,\ell)$-pebble game with colors" in paper.abstract


def test_the_same_file_twice_changes_nothing(db, capsys):
    call_command("import_snapshot", str(SAMPLE))
    stamps = dict(Paper.objects.values_list("arxiv_id", "modified_at"))
    authorships = Authorship.objects.count()

    call_command("import_snapshot", str(SAMPLE))

    assert "0 created / 0 updated / 200 unchanged / 0 failed" in capsys.readouterr().out
    assert dict(Paper.objects.values_list("arxiv_id", "modified_at")) == stamps
    assert Authorship.objects.count() == authorships


def test_limit_imports_the_first_records(db, tmp_path):
    path = write(tmp_path, lines())

    call_command("import_snapshot", str(path), "--limit", "25")

    assert Paper.objects.count() == 25
    assert Paper.objects.filter(arxiv_id="0704.0025").exists()


def test_resume_continues_after_the_last_committed_batch(db, tmp_path, capsys):
    path = write(tmp_path, lines())
    call_command("import_snapshot", str(path), "--limit", "50", "--batch-size", "20")
    assert (tmp_path / "snapshot.jsonl.checkpoint").exists()
    assert Paper.objects.count() == 50

    call_command("import_snapshot", str(path), "--resume", "--batch-size", "20")

    out = capsys.readouterr()
    assert "Resuming snapshot.jsonl from line 51" in out.err
    # Only the rest was read: nothing came out "unchanged".
    assert "150 created / 0 updated / 0 unchanged / 0 failed" in out.out
    assert Paper.objects.count() == 200
    assert not (tmp_path / "snapshot.jsonl.checkpoint").exists()


def test_a_checkpoint_of_another_file_is_ignored(db, tmp_path, capsys):
    path = write(tmp_path, lines()[:60])
    call_command("import_snapshot", str(path), "--limit", "30")
    write(tmp_path, lines()[:70])  # the file changed since

    call_command("import_snapshot", str(path), "--resume")

    assert "from the start (no checkpoint)" in capsys.readouterr().err
    assert Paper.objects.count() == 70


def test_a_truncated_file_keeps_every_whole_line(db, tmp_path, capsys):
    rows = lines()[:40]
    path = write(tmp_path, rows[:39] + [rows[39][:200]])  # cut inside line 40

    with pytest.raises(CommandError, match="1 record"):
        call_command("import_snapshot", str(path))

    assert Paper.objects.count() == 39
    err = capsys.readouterr().err
    assert "line 40: truncated record (the file ends mid-line)" in err


def test_a_malformed_line_fails_alone(db, tmp_path, capsys):
    rows = lines()[:10]
    rows[4] = rows[4][:80] + "}}}\n"

    with pytest.raises(CommandError):
        call_command("import_snapshot", str(write(tmp_path, rows)))

    assert Paper.objects.count() == 9
    assert "line 5: malformed JSON" in capsys.readouterr().err


def test_records_missing_fields_fail_and_are_named(db, tmp_path):
    rows = lines()[:3]
    rows[1] = record(id="0704.0002", title=None)
    rows[2] = json.dumps({"title": "No id at all"}) + "\n"

    result = snapshot.import_file(write(tmp_path, rows))

    assert (result.created, result.failed) == (1, 2)
    assert "line 2 (0704.0002): missing field 'title'" in result.errors
    assert "line 3: missing field 'id'" in result.errors


def test_a_bad_id_or_an_oversized_field_fails_alone(db, tmp_path):
    rows = [
        record(id="not-an-id"),
        record(id="0704.9001", categories="x" * 40),
        record(id="0704.9002"),
    ]

    result = snapshot.import_file(write(tmp_path, rows))

    assert (result.created, result.failed) == (1, 2)
    assert "is not an arXiv id" in result.errors[0]
    assert "category name is too long" in result.errors[1]


def test_a_rerun_after_a_crash_creates_no_duplicates(db, tmp_path):
    path = write(tmp_path, lines())
    snapshot.import_file(path, limit=120)  # as far as a crashed run got

    result = snapshot.import_file(path)  # run again from the start, no --resume

    assert (result.created, result.unchanged) == (80, 120)
    assert Paper.objects.count() == 200
    assert (
        not Authorship.objects.values("paper", "position").annotate(n=Count("id")).filter(n__gt=1)
    )


def test_two_imports_of_the_same_file_at_once_create_no_duplicates(transactional_db, tmp_path):
    path = write(tmp_path, lines())
    env = os.environ | {"DATABASE_URL": database_url_for_tests(), "DEBUG": "1"}
    command = [sys.executable, "manage.py", "import_snapshot", str(path), "--batch-size", "10"]

    runs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert Paper.objects.count() == 200
    summaries = [out.strip().splitlines()[-1] for out, _ in outputs]
    created = sum(int(line.split(": ")[1].split(" created")[0]) for line in summaries)
    assert created == 200, summaries
    duplicated = Author.objects.values("normalised_name").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicated
    assert not Authorship.objects.values("paper", "author").annotate(n=Count("id")).filter(n__gt=1)


def test_authors_are_one_record_whatever_the_spelling(db, tmp_path):
    rows = [
        record(
            id="0704.9001",
            authors_parsed=[["García-Pérez", "José", ""], ["Wiśniewska", "Olga", ""]],
        ),
        record(id="0704.9002", authors_parsed=[["Garcia Perez", "JOSE", ""]]),
        record(id="0704.9003", authors_parsed=None, authors="Olga Wi\\'{s}niewska and J. Smith"),
    ]

    snapshot.import_file(write(tmp_path, rows))

    jose = Author.objects.get(normalised_name="jose garcia perez")
    assert jose.name == "José García-Pérez"  # the first spelling met
    assert set(jose.authorships.values_list("paper__arxiv_id", flat=True)) == {
        "0704.9001",
        "0704.9002",
    }
    olga = Author.objects.get(normalised_name="olga wisniewska")
    assert olga.name == "Olga Wiśniewska"
    assert olga.authorships.count() == 2
    third = Paper.objects.get(arxiv_id="0704.9003")
    assert third.author_names == "Olga Wiśniewska, J. Smith"


def test_html_is_removed_and_latex_and_unicode_stay(db, tmp_path):
    rows = [
        record(
            id="0704.9001",
            title="<b>Bold</b> claims about $a<b$ and <i>Schrödinger</i> <script>alert(1)</script>",
            abstract='We show $x<y$ for <a href="javascript:alert(1)">all</a> ε > 0.'
            "<img src=x onerror=alert(2)>",
            comments="10 pages. Code: https://github.com/example/repo.",
        )
    ]

    snapshot.import_file(write(tmp_path, rows))

    paper = Paper.objects.get(arxiv_id="0704.9001")
    assert paper.title == "Bold claims about $a<b$ and Schrödinger"
    assert paper.abstract == "We show $x<y$ for all ε > 0."
    assert paper.code_url == "https://github.com/example/repo"


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("On $p<q$ and $q>r$", "On $p<q$ and $q>r$"),
        ("Bounds for $0<s<1$ <b>and</b> more", "Bounds for $0<s<1$ and more"),
        ("A &lt;script&gt;alert(1)&lt;/script&gt; title <br/>", "A title"),
        ("Sure\\'e $\\alpha$ -- \\emph{x}", "Sureé $\\alpha$ -- \\emph{x}"),
        ("Tables < 5 rows and > 2", "Tables < 5 rows and > 2"),
        ("$$<script>x</script>E=mc^2$$ end", "$$xE=mc^2$$ end"),
    ],
)
def test_titles_are_sanitised_only_where_there_is_html(raw, clean):
    assert clean_title(raw) == clean


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("\ue0007\ue001 <b>x</b>", "7 x"),
        ("x \ue0000\ue001 y <i>z</i> $a<b$", "x 0 y z $a<b$"),
        ("&#xe000;0&#xe001; <b>x</b> and $a<b$", "0 x and $a<b$"),
        ("No \ue000highlight\ue001 markers", "No highlight markers"),
    ],
)
def test_placeholder_characters_in_a_title_cant_swap_in_math(raw, clean):
    # U+E000/U+E001 set math aside here and mark highlights in search results.
    assert clean_title(raw) == clean


def test_a_record_that_breaks_the_cleaning_fails_alone(db, tmp_path, capsys):
    rows = [
        record(id="0704.9001", title="\ue0007\ue001 <b>x</b>"),
        record(id="0704.9002", abstract=5),
        record(id="0704.9003", categories=7),
        record(id="0704.9004", authors_parsed=[[1, 2, 3]]),
        record(id="0704.9005", title="x \ue0000\ue001 y <i>z</i> $a<b$"),
    ]

    with pytest.raises(CommandError):
        call_command("import_snapshot", str(write(tmp_path, rows)))

    titles = dict(Paper.objects.values_list("arxiv_id", "title"))
    assert titles == {"0704.9001": "7 x", "0704.9005": "x 0 y z $a<b$"}
    captured = capsys.readouterr()
    assert "2 created / 0 updated / 0 unchanged / 3 failed" in captured.out
    assert "line 2 (0704.9002): could not be read (TypeError" in captured.err
    assert "line 3: could not be read (AttributeError" in captured.err
    assert "line 4: could not be read (TypeError" in captured.err


def test_tex_accents_in_titles_and_abstracts_become_unicode_outside_math(db):
    call_command("import_snapshot", str(SAMPLE))
    papers = Paper.objects.in_bulk(
        ["0704.0019", "0704.0028", "0704.0073", "0704.0068", "0704.0106", "0704.0110"],
        field_name="arxiv_id",
    )
    assert papers["0704.0019"].title.endswith("the Gröbner basis")
    assert "lower bound of Révész and Sarantopoulos" in papers["0704.0028"].abstract
    kollar = papers["0704.0073"]
    assert kollar.title == "A transcendental approach to Kollár's injectivity theorem"
    assert "compact Kähler manifold" in kollar.abstract and "\\" not in kollar.abstract
    assert "A. Petojević verified" in papers["0704.0068"].abstract  # written with a space
    # Math and commands that are not accents stay as written, for KaTeX.
    assert "$\\cal{O}(\\alpha_s^2)$" in papers["0704.0106"].abstract
    assert "$G$-$\\cla$ module" in papers["0704.0110"].abstract


@pytest.mark.parametrize(
    "raw, clean",
    [
        (r"R\'{e}nyi and G\"odel", "Rényi and Gödel"),
        (r"\"{o} \c{c} Espa\~na {\o}rsted na\"{\i}ve", "ö ç España ørsted naïve"),
        (r"$\"o$ and $\c{c}$ and \(\'a\)", r"$\"o$ and $\c{c}$ and \(\'a\)"),
        (
            r"{GPT} \cite{x} {\cal K} \vartheta \v{S}koda",
            r"{GPT} \cite{x} {\cal K} \vartheta Škoda",
        ),
    ],
)
def test_only_accents_outside_math_are_resolved(raw, clean):
    assert clean_title(raw) == clean


def test_stored_rows_are_fixed_by_a_command(db, capsys):
    from .factories import PaperFactory

    old = PaperFactory(title=r"R\'{e}nyi entropies", abstract=r"After G\"odel, $\"o$.")
    untouched = PaperFactory(title="Plain", abstract=r"$\alpha$ only")
    call_command("resolve_tex_accents")
    old.refresh_from_db()
    assert (old.title, old.abstract) == ("Rényi entropies", r"After Gödel, $\"o$.")
    assert "1 of 2 papers" in capsys.readouterr().out
    untouched.refresh_from_db()
    assert untouched.abstract == r"$\alpha$ only"
    call_command("resolve_tex_accents")  # again: nothing left to do
    assert "0 of 2 papers" in capsys.readouterr().out


def test_abstract_paragraphs_are_kept_and_hard_wraps_undone():
    raw = "  First line\nwraps here.\n  Second paragraph\n  starts. "
    assert clean_abstract(raw) == "First line wraps here.\nSecond paragraph\nstarts."


@pytest.mark.parametrize(
    "tex, name",
    [
        ("Bal\\'azs", "Balázs"),
        ('M\\"{u}ller', "Müller"),
        ("{\\v S}koda", "Škoda"),
        ("Gr\\o{}nbech", "Grønbech"),
        ("\\c{C}elik", "Çelik"),
        ("Wi\\'{s}niewska", "Wiśniewska"),
    ],
)
def test_tex_accents_in_names_become_unicode(tex, name):
    assert tex_to_unicode(tex) == name


@pytest.mark.parametrize(
    "text, code, project",
    [
        ("Code at https://github.com/org/repo/tree/main/src.", "https://github.com/org/repo", ""),
        ("see github.com/org/tool)", "https://github.com/org/tool", ""),
        (
            "Project page: https://example.org/p and https://gitlab.com/g/sub/r",
            "https://gitlab.com/g/sub/r",
            "https://example.org/p",
        ),
        (
            "Demo https://team.github.io/demo/ , weights https://huggingface.co/org/model",
            "https://huggingface.co/org/model",
            "https://team.github.io/demo/",
        ),
        ("Full version at http://www.astronomy.ohio-state.edu/~gould/x.ps.gz", "", ""),
    ],
)
def test_code_and_project_links_are_found(text, code, project):
    assert find_links(text) == (code, project)


@pytest.mark.parametrize(
    "name",
    [
        "C. -P. Yuan",
        "O'Neil, Jr.",
        "van der Berg_2",
        "  A  B ",
        "José García-Pérez",
        "Ｆｕｌｌ Width",
        "ß",
        "İlker",
    ],
)
def test_the_author_key_is_normalise_name(name):
    assert author_key(name) == normalise_name(name)[:300].strip()


def many_records(count):
    """`count` records made from the sample, with ids of their own."""
    rows = [json.loads(line) for line in lines()]
    return [
        json.dumps(rows[n % len(rows)] | {"id": f"1501.{n + 1:05d}"}) + "\n" for n in range(count)
    ]


def test_writer_threads_checkpoint_only_what_is_committed(transactional_db, tmp_path):
    path = write(tmp_path, many_records(95))

    first = snapshot.import_file(path, limit=64, batch_size=10, writers=2)
    checkpoint = json.loads((tmp_path / "snapshot.jsonl.checkpoint").read_text())
    rest = snapshot.import_file(path, resume=True, batch_size=10, writers=2)

    assert checkpoint["line"] == 64
    assert (first.created, rest.created, rest.unchanged) == (64, 31, 0)
    assert Paper.objects.count() == 95


def test_a_killed_import_resumes_without_duplicates(transactional_db, tmp_path):
    path = write(tmp_path, many_records(6000))
    env = os.environ | {"DATABASE_URL": database_url_for_tests(), "DEBUG": "1"}
    command = [sys.executable, "manage.py", "import_snapshot", str(path), "--batch-size", "200"]
    run = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "snapshot.jsonl.checkpoint"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.kill()  # SIGKILL: no clean-up, as in a crash
    run.wait()
    stored = Paper.objects.count()
    assert 0 < stored < 6000, "the import was not interrupted midway"

    resumed = subprocess.run(
        [*command, "--resume"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert resumed.returncode == 0, resumed.stderr
    assert Paper.objects.count() == 6000
    assert "Resuming snapshot.jsonl from line" in resumed.stderr
    created = int(resumed.stdout.split(": ")[1].split(" created")[0])
    unchanged = int(resumed.stdout.split(" updated / ")[1].split(" unchanged")[0])
    # Only the batches after the checkpoint were read again; some of them may have
    # been committed just before the kill, and come out unchanged.
    assert created == 6000 - stored
    assert created + unchanged < 6000
    assert (
        not Authorship.objects.values("paper", "position").annotate(n=Count("id")).filter(n__gt=1)
    )


def test_imported_papers_are_searchable_and_later_writes_keep_their_documents(db):
    # Papers go in with COPY; their search documents come from the trigger (0008).
    call_command("import_snapshot", str(SAMPLE))

    assert SearchDocument.objects.count() == Paper.objects.count() == 200
    found = matching.search_matches(Paper.objects.all(), "diphoton Tevatron").values_list(
        "arxiv_id", flat=True
    )
    assert "0704.0001" in found

    paper = Paper.objects.create(arxiv_id="2406.99999", title="Quasicrystalline marmosets")
    assert SearchDocument.objects.filter(paper=paper).exists()
    assert list(
        matching.search_matches(Paper.objects.all(), "marmosets").values_list("pk", flat=True)
    ) == [paper.pk]
    paper.title = "Aperiodic lemurs"
    paper.save()
    assert list(
        matching.search_matches(Paper.objects.all(), "lemurs").values_list("pk", flat=True)
    ) == [paper.pk]
