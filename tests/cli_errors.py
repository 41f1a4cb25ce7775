"""The command lines' error contract, shared by tests/test_train.py and
tests/test_evaluate.py."""


def one_line_error(capsys, main, argv, *needles):
    """``main(argv)`` exits 2 before any work, with one line ``error: ...`` that
    names each of ``needles``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, err
