"""A REST API written with FastAPI, which generates its own OpenAPI 3.1 document at
/openapi.json: the gateway's `openapi` target reads that document and calls these operations.

Usage: fastapi_app.py PORT. Every request is appended to $API_REQUESTS (one JSON line: method,
path, query, headers) when it is set, so tests can see what the gateway sent.
"""
import asyncio
import enum
import json
import os
import sys

import uvicorn
from fastapi import FastAPI, Form, Header, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

app = FastAPI(title="Inventory API", version="2.1.0", description="Items in a small shop.")


class Color(str, enum.Enum):
    red = "red"
    green = "green"
    blue = "blue"


class ItemIn(BaseModel):
    name: str
    price: float
    tags: list[str] = []
    color: Color | None = None


class Item(ItemIn):
    id: int
    request_id: str | None = None


ITEMS: dict[int, Item] = {
    1: Item(id=1, name="lamp", price=12.5, tags=["home", "light"], color=Color.red),
    2: Item(id=2, name="chair", price=40.0, tags=["home"], color=None),
}


@app.middleware("http")
async def record(request: Request, call_next):
    log = os.environ.get("API_REQUESTS")
    if log:
        with open(log, "a") as out:
            out.write(json.dumps({"method": request.method, "path": request.url.path,
                                  "raw_path": request.scope["raw_path"].decode("latin-1"), "query": request.url.query,
                                  "headers": {k: v for k, v in request.headers.items()}}) + "\n")
    return await call_next(request)


@app.get("/items/{item_id}", operation_id="get_item", summary="Get one item", tags=["items"])
def get_item(item_id: int, x_request_id: str | None = Header(default=None)) -> Item:
    """Looks an item up by its id."""
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return ITEMS[item_id].model_copy(update={"request_id": x_request_id})


@app.get("/items", operation_id="list_items", summary="List items", tags=["items"])
def list_items(tag: list[str] = Query(default=[]), color: Color | None = None, limit: int = Query(default=10, ge=1, le=100)) -> list[Item]:
    found = [item for item in ITEMS.values() if all(t in item.tags for t in tag) and (color is None or item.color == color)]
    return found[:limit]


@app.post("/items", operation_id="create_item", summary="Create an item", status_code=201, tags=["items"])
def create_item(item: ItemIn, x_tenant: str = Header()) -> Item:
    new = Item(id=max(ITEMS) + 1, **item.model_dump())
    ITEMS[new.id] = new
    return new.model_copy(update={"request_id": x_tenant})


@app.delete("/items/{item_id}", operation_id="delete_item", summary="Delete an item", status_code=204, tags=["items"])
def delete_item(item_id: int):
    if ITEMS.pop(item_id, None) is None:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return Response(status_code=204)


@app.get("/search/{name}", operation_id="search", summary="Search by name", tags=["items"])
def search(name: str) -> dict:
    return {"name": name, "matches": [item.id for item in ITEMS.values() if item.name == name]}


@app.post("/login", operation_id="login", summary="Log in with a form", tags=["auth"])
def login(username: str = Form(), password: str = Form()) -> dict:
    if password != "secret":
        raise HTTPException(status_code=401, detail="wrong password")
    return {"user": username, "token": "t-" + username}


@app.get("/headers", operation_id="echo_headers", summary="The request's headers", tags=["debug"])
def echo_headers(request: Request) -> dict:
    return {"headers": {k: v for k, v in request.headers.items()}}


@app.get("/hello", operation_id="hello", response_class=PlainTextResponse, tags=["debug"])
def hello(name: str = "world"):
    return f"Hello, {name}!"


@app.get("/logo", operation_id="logo", tags=["debug"], responses={200: {"content": {"image/png": {}}}})
def logo():
    return Response(content=bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 1, 2, 255]), media_type="image/png")


@app.get("/boom", operation_id="boom", summary="Always fails", tags=["debug"])
def boom() -> dict:
    raise HTTPException(status_code=500, detail="the database is on fire")


@app.get("/slow", operation_id="slow", summary="Answers after a while", tags=["debug"])
async def slow(seconds: float = 3.0) -> dict:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
