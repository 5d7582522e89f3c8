"""The broadcast hot path sends through the ASGI server's ``send`` (``asgi.text_sender``).

It relies on Quart's ``ASGIWebsocketConnection._create_websocket_from_scope(send)``
(Quart pinned < 0.23 in pyproject); this fails when that hook moves. The delivery
itself is covered by every live-server broadcast test (tests/websockets/).
"""

import inspect

from quart.asgi import ASGIWebsocketConnection

from pykcworkshop.chat.api.websockets.asgi import DrainingWebsocketConnection


def test_quart_builds_the_websocket_from_the_server_send():
    parameters = list(inspect.signature(ASGIWebsocketConnection._create_websocket_from_scope).parameters)
    assert parameters == ["self", "send"]
    assert "_create_websocket_from_scope" in vars(DrainingWebsocketConnection)
    assert "_create_websocket_from_scope" in inspect.getsource(ASGIWebsocketConnection.__call__)
