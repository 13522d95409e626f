# syntax=docker/dockerfile:1
# One image, both commands:
#   server (default):  aimock serve --host 0.0.0.0          (ENTRYPOINT + CMD below)
#                      (its control API needs -e AIMOCK_ADMIN_TOKEN=..., or --open-control)
#   operator:          command: ["aimock-operator"]          (the Helm chart sets it)
#
# Two stages. `build` compiles the request path (scripts/compile.py: mypyc, so it runs on the
# full Debian image, which has a C compiler), turns this checkout into a wheel holding those
# extensions, and collects every dependency as a wheel (a wheelhouse). `runtime` installs that
# wheelhouse into a venv with the index switched off, so the final image holds no source tree,
# no build tools and no pip cache, and installs exactly what was built. tests/operator/test_dockerfile.py repeats these steps in a clean venv (no Docker
# engine runs in CI): keep the two in step when a command below changes.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The same Python on the same Debian, with gcc and the C headers: the extensions built there
# load in the slim image.
ARG BUILD_IMAGE=python:3.11-bookworm

FROM ${BUILD_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the wheel is built from; .dockerignore keeps the rest of the clone out of the context.
COPY pyproject.toml README.md ./
COPY server/ server/
COPY operator/ operator/
COPY scripts/compile.py scripts/compile-requirements.txt scripts/
RUN python -m pip install . --requirement scripts/compile-requirements.txt \
    && python scripts/compile.py \
    && python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/aimock/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A real passwd entry for uid 65532: tools that ask "who am I" (getpass, kopf's peer identity)
# fail on a uid the image does not know.
RUN groupadd --gid 65532 aimock \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin aimock
# The wheelhouse is bind-mounted from the build stage, so no wheel lands in a layer. pip compiles
# the .pyc files at install time: the pods run with a read-only root filesystem.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/aimock \
    && /opt/aimock/bin/pip install --no-index --find-links /wheels aimock

USER 65532:65532
WORKDIR /tmp
EXPOSE 4010
ENTRYPOINT ["aimock"]
CMD ["serve", "--host", "0.0.0.0"]
