"""Build the compiled term codec; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds
and `otp.distribution` uses its pure-Python codec (`otp.distribution.codec == "python"`).
"""

from setuptools import Extension, setup

PARTS = ["_term_c", "_term_c_decode", "_term_c_ids", "_term_c_encode"]

setup(
    ext_modules=[
        Extension(
            "otp.distribution._term_c",
            sources=[f"src/otp/distribution/{part}.c" for part in PARTS],
            depends=["src/otp/distribution/_term_c.h"],
            optional=True,
        )
    ]
)
