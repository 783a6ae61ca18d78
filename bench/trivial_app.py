"""The baseline of the HTTP figures: a trivial ``async def`` FastAPI endpoint,
served the way ``seatledger serve`` serves its app (``uvicorn.run`` in one
process: uvicorn picks uvloop and httptools when they are installed, as they
are with the package's ``uvicorn[standard]``).

    .venv/bin/python bench/trivial_app.py --port 8123
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/access/check")
async def trivial() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
