"""The warm template grading kernels are forked from (``grader.execute.kernels``), as its own process.

Started as ``python -c "from grader.execute._template import serve; serve()" FD MODULE...``: FD is its
end of a socket pair, the modules are the ones to preload. Each request on the socket (a JSON
line: argv, env, cwd) is answered with a pidfd of the fork that runs ipykernel with it, or
``x`` if none could be opened.
"""
import gc
import importlib
import json
import os
import random
import signal
import socket
import sys

from .._process import die_with_parent

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # ipykernel's default


def _reap(*_) -> None:
    """As each fork ends (the grader watches them by pidfd): this process's children, so their
    CPU time adds up to the grading process's as a kernel of its own would."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def serve() -> None:
    die_with_parent()
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # as ipykernel_launcher does
    channel = socket.socket(fileno=int(sys.argv[1]))
    # What every kernel does first as it starts (IPKernelApp.init_gui_pylab), before any preload
    # runs: matplotlib, if preloaded, reads the backend as it is imported.
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = INLINE_BACKEND
    gc.disable()  # (the imports make millions of objects, and nothing to collect)
    import ipykernel.kernelapp

    for name in sys.argv[2:]:
        importlib.import_module(name)
    # The libraries' objects live as long as the kernels: kept out of every kernel's collections,
    # which then neither scan them nor copy the pages they sit on.
    gc.freeze()
    gc.enable()
    signal.signal(signal.SIGCHLD, _reap)
    requests = channel.makefile("rb")
    for line in requests:
        request = json.loads(line)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # not reaped before its pidfd is open
        pid = os.fork()
        if pid == 0:
            requests.close()
            channel.close()
            _kernel(request, ipykernel.kernelapp)
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            channel.sendall(b"x")
            continue
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        socket.send_fds(channel, [b"k%d" % pid], [fd])
        os.close(fd)


def _kernel(request: dict, kernelapp) -> None:
    """In the fork: become the kernel a new process started with the request would be."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    die_with_parent()
    os.setsid()  # its own process group, as jupyter_client starts kernels
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()  # a fresh process's random state, not the template's
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()
    sys.argv = [kernelapp.__file__, *request["argv"]]
    try:
        kernelapp.launch_new_instance(argv=request["argv"])
    finally:
        os._exit(0)
