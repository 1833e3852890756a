# alpaca-sony in a container. Needs the camera's USB bus and the host network (Alpaca discovery
# and mDNS are LAN broadcasts/multicast):
#   docker build -t alpaca-sony .
#   docker run --rm --network host --device /dev/bus/usb -v "$PWD/originals:/data" alpaca-sony
# Try it without a camera: append `--simulator` to the run command.
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends libusb-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY alpaca_sony ./alpaca_sony
RUN pip install --no-cache-dir . \
    && useradd --system --create-home --groups plugdev alpaca \
    && mkdir -p /data && chown alpaca /data

USER alpaca
EXPOSE 11111/tcp 32227/udp
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:11111/management/apiversions', timeout=4)"
ENTRYPOINT ["alpaca-sony", "--save-dir", "/data"]
