"""The server side of RFC 6455, as much as ComfyUI's /ws needs: handshake, frames in and out, ping and close."""
import base64
import hashlib
import socket
import struct
import threading

GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(client_key):
    return base64.b64encode(hashlib.sha1((client_key.strip() + GUID).encode('ascii')).digest()).decode('ascii')


def encode_frame(opcode, payload):
    """A single unmasked, final frame (servers never mask)."""
    header = bytes((0x80 | opcode,))
    n = len(payload)
    if n < 126:
        header += bytes((n,))
    elif n < 1 << 16:
        header += bytes((126,)) + struct.pack('>H', n)
    else:
        header += bytes((127,)) + struct.pack('>Q', n)
    return header + payload


class ProtocolError(Exception):
    pass


def _read_exact(rfile, n):
    data = rfile.read(n) if n else b''
    if len(data) != n:
        raise EOFError('connection closed')
    return data


def read_frame(rfile, max_payload=16 << 20):
    """(fin, opcode, payload) of the next frame, unmasked."""
    b0, b1 = _read_exact(rfile, 2)
    fin, opcode = bool(b0 & 0x80), b0 & 0x0F
    masked, n = bool(b1 & 0x80), b1 & 0x7F
    if n == 126:
        n = struct.unpack('>H', _read_exact(rfile, 2))[0]
    elif n == 127:
        n = struct.unpack('>Q', _read_exact(rfile, 8))[0]
    if n > max_payload:
        raise ProtocolError(f'frame of {n} bytes is too large')
    mask = _read_exact(rfile, 4) if masked else None
    payload = _read_exact(rfile, n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload


class WsConnection:
    """One client socket; `send_text` may be called from any thread."""

    def __init__(self, sock, rfile):
        self.sock = sock
        self.rfile = rfile
        self.lock = threading.Lock()
        self.closed = False

    def _send(self, frame):
        with self.lock:
            if self.closed:
                return False
            try:
                self.sock.sendall(frame)
                return True
            except OSError:
                self.closed = True
                return False

    def send_text(self, text):
        return self._send(encode_frame(OP_TEXT, text.encode('utf-8')))

    def send_close(self, code=1000, reason=''):
        sent = self._send(encode_frame(OP_CLOSE, struct.pack('>H', code) + reason.encode('utf-8')))
        self.closed = True
        return sent

    def drop(self):
        """Cuts the connection without a close frame, as a crashed or unreachable server would."""
        with self.lock:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(self, on_text=None):
        """Reads frames until the client closes or the connection drops; answers pings."""
        try:
            while True:
                _, opcode, payload = read_frame(self.rfile)
                if opcode == OP_CLOSE:
                    code = struct.unpack('>H', payload[:2])[0] if len(payload) >= 2 else 1000
                    self.send_close(code)
                    return
                if opcode == OP_PING:
                    self._send(encode_frame(OP_PONG, payload))
                elif opcode == OP_TEXT and on_text is not None:
                    on_text(payload.decode('utf-8', 'replace'))
        except (EOFError, OSError, ProtocolError):
            pass
        finally:
            self.closed = True
