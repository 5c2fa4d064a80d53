"""Build the compiled term codec; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds
and `otp.dist` uses its pure-Python codec (`otp.dist.codec == "python"`).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "otp.dist._term_c",
            sources=["src/otp/dist/_term_c.c"],
            optional=True,
        )
    ]
)
