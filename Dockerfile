# The profiling service on a CUDA GPU host:
#   docker build -t archprofiler .
#   docker run --gpus all -p 8000:8000 -v archprofiler-data:/data -e PROFILER_API_TOKEN=<secret> archprofiler
# It listens on every interface, so it refuses to start without a token (or PROFILER_ALLOW_OPEN=1).
# The base image brings torch with CUDA and cuDNN; the service's other dependencies are installed on top.
# Stored results live in the /data volume (SQLite); CI runs this file's RUN commands and HEALTHCHECK
# outside Docker (.ci/dockerfile_check.py) and lints it with hadolint.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PROFILER_HOST=0.0.0.0 \
    PROFILER_PORT=8000 \
    PROFILER_STORE_PATH=/data/profiles.sqlite3

# EXTRAS: the package's extras. "[gpu]" (the default) adds the GPU runtimes, ONNX Runtime's CUDA provider
# (onnxruntime-gpu, put in place of the CPU-only onnxruntime: both install the same module) and TensorRT, whose
# wheels come from NVIDIA's package index; "[gpu,ray]" builds a Ray cluster's nodes (deploy/compose.ray.yml).
ARG EXTRAS="[gpu]"
ARG PIP_EXTRA_INDEX_URL="https://pypi.nvidia.com"
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY profiler ./profiler
COPY app ./app
RUN pip install --no-cache-dir "./${EXTRAS}" \
    && if ORT_GPU="$(python -c "import importlib.metadata as m; print(m.version('onnxruntime-gpu'))" 2>/dev/null)"; then \
        pip uninstall -y onnxruntime \
        && pip install --no-cache-dir --no-deps --force-reinstall "onnxruntime-gpu==${ORT_GPU}"; \
    fi \
    && groupadd --gid 10001 profiler \
    && useradd --create-home --uid 10001 --gid 10001 profiler \
    && mkdir -p /data \
    && chown 10001:10001 /data

VOLUME /data
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["python", "-m", "app"]
