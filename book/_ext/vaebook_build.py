"""Sphinx extension loaded by _config.yml: marks the notebook kernels as a static build.

The kernels that execute the chapters inherit this process's environment, so
setting the variables here means every ``jupyter-book build`` makes
``vaebook.widgets.explore`` emit precomputed scrubbers (sliders that work in
the HTML with no kernel) and silences progress bars, whoever runs the build.
"""

import os


def setup(app):
    os.environ["VAEBOOK_STATIC"] = "1"
    os.environ.setdefault("TQDM_DISABLE", "1")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
