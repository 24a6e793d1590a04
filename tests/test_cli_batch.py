"""`codec encode` / `decode` on several files: nothing lost (colliding outputs, Ctrl-C), the
flags users bring from cwebp/cjxl/avifenc (-q is the quality, -s/--quiet), usage errors (exit 2)
before any model loads, and -d DIR created when missing (tiny model)."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from PIL import Image

from cli.main import main


@pytest.fixture(autouse=True)
def _tiny(tiny_weights, monkeypatch):
    monkeypatch.setenv("GMCODEC_WEIGHTS", str(tiny_weights))


def _png(path, seed=0, size=(40, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _usage_error(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.startswith("codec: error:") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def no_model(monkeypatch):
    """Call it to make any image model load fail the test from then on."""
    import codec.image.codec

    def forbid():
        monkeypatch.setattr(codec.image.codec, "_shipped", lambda *a, **k: pytest.fail("a model was loaded"))

    return forbid


# -- colliding outputs -------------------------------------------------------------------------


def test_two_inputs_with_one_output_are_refused_before_any_work(tmp_path, capsys, no_model):
    no_model()
    a = _png(tmp_path / "a.png")
    Image.open(a).save(tmp_path / "a.jpg")
    before = _tree(tmp_path)
    assert main(["encode", "-s", str(a), str(tmp_path / "a.jpg"), "-d", str(tmp_path / "out"), "--force"]) == 2
    _usage_error(capsys, "a.png and", "a.jpg would both be written to", "out/a.gmc")
    assert _tree(tmp_path) == before  # not even the -d folder


def test_the_same_file_twice_is_refused(tmp_path, capsys, no_model):
    no_model()
    a = _png(tmp_path / "in" / "a.png")
    assert main(["encode", str(a), str(a)]) == 2
    _usage_error(capsys, "a.png is given twice")
    assert main(["encode", str(tmp_path / "in"), str(a)]) == 2  # a folder and a file inside it
    _usage_error(capsys, "given twice")
    assert _tree(tmp_path) == ["in", "in/a.png"]


def test_an_output_that_is_an_input_is_refused(tmp_path, capsys, no_model):
    no_model()
    a = _png(tmp_path / "a.png")
    original = a.read_bytes()
    assert main(["encode", "--force", str(a), "-o", str(a)]) == 2
    _usage_error(capsys, "is one of the inputs")
    assert a.read_bytes() == original


def test_o_with_several_inputs_is_one_usage_line(tmp_path, capsys, no_model):
    no_model()
    inputs = [str(_png(tmp_path / f"{n}.png", seed=i)) for i, n in enumerate("abc")]
    assert main(["encode", *inputs, "-o", str(tmp_path / "x.gmc")]) == 2
    _usage_error(capsys, "-o/--output takes a single input, got 3")
    assert not (tmp_path / "x.gmc").exists()


# -- usage errors before any model loads --------------------------------------------------------


@pytest.mark.parametrize("argv, fragment", [
    (["encode", "-q", "4", "{a}"], "must be 1..3 with model tiny-test, got 4"),  # the tiny model has 3
    (["encode", "--quality", "0", "{a}"], "must be 1 or more, got 0"),
    (["encode", "--jobs", "0", "{a}"], "--jobs: must be 1 or more, got 0"),
    (["encode", "--jobs", "-2", "{a}"], "--jobs: must be 1 or more, got -2"),
    (["decode", "--jobs", "0", "{gmc}"], "--jobs: must be 1 or more"),
    (["decode", "-q", "3", "{gmc}"], "holds qualities 1..2"),
    (["decode", "-q", "0", "{gmc}"], "must be 1 or more"),
])
def test_usage_errors_exit_2_before_any_model_loads(tmp_path, capsys, no_model, argv, fragment):
    a = _png(tmp_path / "a.png")
    assert main(["encode", "-s", "-q", "2", str(a), "-o", str(tmp_path / "q2.gmc")]) == 0
    capsys.readouterr()
    no_model()
    before = _tree(tmp_path)
    assert main([x.format(a=a, gmc=tmp_path / "q2.gmc") for x in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and fragment in err and "Traceback" not in err, err
    assert _tree(tmp_path) == before


def test_a_quality_out_of_range_imports_no_torch(run_snippet, tiny_weights, tmp_path):
    a = _png(tmp_path / "a.png")
    out = run_snippet("""
        import sys
        from cli.main import main
        code = main(["encode", "-q", "9", sys.argv[1]])
        print(code, "torch" in sys.modules)
    """, args=[str(a)], env={"GMCODEC_WEIGHTS": str(tiny_weights)})
    assert out.split() == [b"2", b"False"]


def test_q_is_the_quality_s_is_quiet_and_Q_still_works(tmp_path, capsys):
    a = _png(tmp_path / "a.png", size=(64, 64))
    assert main(["encode", "--quiet", "-q", "1", str(a), "-o", str(tmp_path / "q1.gmc")]) == 0
    assert main(["encode", "-s", "-Q", "3", str(a), "-o", str(tmp_path / "q3.gmc")]) == 0
    sizes = {q: (tmp_path / f"q{q}.gmc").stat().st_size for q in (1, 3)}
    assert sizes[1] < sizes[3]
    assert main(["decode", "-s", "-q", "1", str(tmp_path / "q3.gmc"), "-o", str(tmp_path / "cut.png")]) == 0
    assert Image.open(tmp_path / "cut.png").size == (64, 64)
    capsys.readouterr()
    assert main(["encode", "--help"]) == 0
    text = capsys.readouterr().out
    assert "-q N, --quality N" in text and "-s, --quiet" in text and "-Q" not in text


# -- output folders ---------------------------------------------------------------------------


def test_d_creates_the_folder_for_images(tmp_path):
    a = _png(tmp_path / "a.png")
    out = tmp_path / "new" / "enc"
    assert main(["encode", "-s", str(a), "-d", str(out)]) == 0
    assert _tree(out) == ["a.gmc"]
    assert main(["decode", "-s", str(out / "a.gmc"), "-d", str(tmp_path / "dec")]) == 0
    assert _tree(tmp_path / "dec") == ["a.png"]


def test_a_failed_run_leaves_no_folder_it_created(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main(["encode", str(bad), "-d", str(tmp_path / "out" / "sub")]) == 1
    assert "bad.png" in capsys.readouterr().err
    assert _tree(tmp_path) == ["bad.png"]


# -- Ctrl-C ---------------------------------------------------------------------------------------


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler (KeyboardInterrupt) for the test: a process started in the
    background, as CI or ``nohup ... &`` starts it, inherits SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupting_encoder(monkeypatch, interrupt_at: int, in_flight: int = 1) -> list:
    """Make ImageCodec.encode send this process a real SIGINT on its ``interrupt_at``-th call
    (1-based), once ``in_flight`` calls are running at the same time; returns the calls."""
    import threading

    from codec.image.codec import ImageCodec

    real = ImageCodec.encode
    calls: list = []  # image sizes, one per call
    together = threading.Barrier(in_flight, timeout=10)

    def encode(self, image):
        calls.append(image.size)
        number = len(calls)
        together.wait()
        if number == interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2 * (in_flight > 1))  # the others are still coding when Ctrl-C lands
        return real(self, image)

    monkeypatch.setattr(ImageCodec, "encode", encode)
    return calls


def test_ctrl_c_stops_at_once_drops_the_file_in_flight_and_lists_what_was_written(tmp_path, capsys, monkeypatch,
                                                                                   sigint_raises):
    inputs = [str(_png(tmp_path / "in" / f"{n}.png", seed=i)) for i, n in enumerate("abcd")]
    calls = _interrupting_encoder(monkeypatch, interrupt_at=2)
    out = tmp_path / "out"
    assert main(["encode", *inputs, "-d", str(out)]) == 130
    assert len(calls) == 2  # c and d never started
    assert _tree(out) == ["a.gmc"]  # b was in flight: not written, no temporary file left
    captured = capsys.readouterr()
    assert captured.out.count("->") == 1
    assert f"interrupted: 1 of 4 outputs written: {out / 'a.gmc'}; nothing else" in captured.err


def test_ctrl_c_with_jobs_finishes_the_files_in_flight_only(tmp_path, capsys, monkeypatch, sigint_raises):
    inputs = [str(_png(tmp_path / "in" / f"{n}.png", seed=i)) for i, n in enumerate("abcd")]
    calls = _interrupting_encoder(monkeypatch, interrupt_at=1, in_flight=2)
    out = tmp_path / "out"
    assert main(["encode", "--jobs", "2", *inputs, "-d", str(out)]) == 130
    assert len(calls) == 2  # the two in flight; c and d never started
    assert _tree(out) == ["a.gmc", "b.gmc"]
    err = capsys.readouterr().err
    assert "in flight" in err and "interrupted: 2 of 4 outputs written" in err
