"""The reference every HTTP benchmark is a ratio to: a bare FastAPI app serving one constant
10-field JSON object, served by the same uvicorn settings as Nigran itself."""

from fastapi import FastAPI

app = FastAPI()

PING = {
    "service": "nigran-reference",
    "status": "ok",
    "version": 1,
    "items": 149,
    "observations": 727,
    "engine": "none",
    "ratio": 1.0,
    "cached": False,
    "tags": ["bare", "reference"],
    "note": "a constant answer with no database",
}


@app.get("/ping")
async def ping() -> dict[str, object]:
    return PING
