# The profiling service on a CUDA GPU host:
#   docker build -t archprofiler .
#   docker run --gpus all -p 8000:8000 archprofiler
# The base image brings torch with CUDA and cuDNN; the service's other dependencies are installed on top.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PROFILER_HOST=0.0.0.0 \
    PROFILER_PORT=8000

WORKDIR /srv
COPY pyproject.toml README.md ./
COPY profiler ./profiler
COPY app ./app
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 profiler

USER profiler
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["python", "-m", "app"]
