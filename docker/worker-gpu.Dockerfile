# The GPU worker (queue gpu): diffusers pipelines, one container per GPU.
# Its own Python 3.11 with torch; no Django. On Linux x86_64, PyPI's torch 2.13.0 wheel is
# the CUDA build and brings its own CUDA user-space libraries; the driver comes from the
# host (NVIDIA driver + nvidia-container-toolkit).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HOME=/models HF_HUB_OFFLINE=1

WORKDIR /worker
COPY workers/diffusion/requirements.txt ./
RUN pip install torch==2.13.0 && pip install -r requirements.txt "huggingface_hub[cli]"
COPY workers/diffusion/diffusion_worker ./diffusion_worker
RUN useradd --create-home --uid 1000 studio && mkdir -p /models && chown studio /models

USER studio
CMD ["celery", "-A", "diffusion_worker.app", "worker", "-Q", "gpu", "--pool=solo", \
     "--concurrency=1", "--prefetch-multiplier=1", "--loglevel", "INFO"]
