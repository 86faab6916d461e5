"""A command stopped by any signal that ends a process (not only SIGTERM) leaves no temporary behind."""

import signal

import pytest
from stopping import terminated_while_saving


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGUSR1, signal.SIGXCPU])
def test_a_run_stopped_by_a_signal_while_saving_leaves_no_file_and_says_which(tmp_path, signum):
    status, stderr = terminated_while_saving(
        "nets.twolayer.command", ["--iterations", "5", "--quiet", "--save", "model.npz"], tmp_path, signum
    )
    assert status == 128 + signum, stderr
    assert stderr.strip() == f"stopped by {signal.Signals(signum).name}"
    assert list(tmp_path.iterdir()) == []


def test_a_write_protected_output_is_refused_before_training(tmp_path):
    from nets.twolayer.command import main

    (tmp_path / "model.npz").write_bytes(b"the user's model")
    (tmp_path / "model.npz").chmod(0o444)
    status = main(["--iterations", "5", "--quiet", "--save", str(tmp_path / "model.npz")])
    assert status == 2
    assert (tmp_path / "model.npz").read_bytes() == b"the user's model"
