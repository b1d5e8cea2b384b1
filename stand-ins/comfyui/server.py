"""ComfyUI's HTTP and websocket API on http.server: the routes of server.py, each also under /api."""
import ipaddress
import json
import logging
import mimetypes
import os
import re
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import execution
import folder_paths
import nodes
import ws_frames

VERSION = '0.3.64-standin'


def _is_loopback(host):
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == 'localhost'


def _dumps(obj):
    return json.dumps(obj, default=lambda o: list(o) if isinstance(o, (tuple, set)) else str(o))


def parse_multipart(content_type, body):
    """{name: (filename or None, bytes)} from a multipart/form-data body (the cgi module is gone)."""
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or '')
    if not match:
        raise ValueError('multipart body without a boundary')
    boundary = (match.group(1) or match.group(2)).encode('latin-1')
    fields = {}
    for part in body.split(b'--' + boundary)[1:]:
        if part.startswith(b'--'):
            break
        part = part[2:] if part.startswith(b'\r\n') else part
        head, sep, content = part.partition(b'\r\n\r\n')
        if not sep:
            continue
        if content.endswith(b'\r\n'):
            content = content[:-2]
        disposition = ''
        for line in head.decode('utf-8', 'replace').split('\r\n'):
            key, _, value = line.partition(':')
            if key.strip().lower() == 'content-disposition':
                disposition = value
        params = dict((m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3).strip())
                      for m in re.finditer(r';\s*([\w*-]+)=(?:"((?:[^"\\]|\\.)*)"|([^;]*))', disposition))
        if 'name' in params:
            fields[params['name']] = (params.get('filename'), content)
    return fields


class PromptServer:
    instance = None

    def __init__(self, args):
        PromptServer.instance = self
        self.args = args
        self.client_id = None
        self.last_node_id = None
        self.last_prompt_id = None
        self.number = 0
        self.prompt_queue = None
        self.sockets = {}
        self.sockets_lock = threading.Lock()
        self.number_lock = threading.Lock()
        self.refuse_websocket = os.environ.get('STANDIN_REFUSE_WEBSOCKET') == '1'
        self.httpd = None

    # --- websocket messages ---

    def send_sync(self, event, data, sid=None):
        text = _dumps({'type': event, 'data': data})
        with self.sockets_lock:
            targets = list(self.sockets.values()) if sid is None else [self.sockets[sid]] if sid in self.sockets else []
        for conn in targets:
            conn.send_text(text)

    def queue_info(self):
        remaining = self.prompt_queue.get_tasks_remaining() if self.prompt_queue else 0
        return {'exec_info': {'queue_remaining': remaining}}

    def queue_updated(self):
        self.send_sync('status', {'status': self.queue_info()})

    def drop_websockets(self):
        with self.sockets_lock:
            conns = list(self.sockets.values())
            self.sockets.clear()
        for conn in conns:
            conn.drop()

    # --- HTTP ---

    def start(self, address, port):
        handler = type('Handler', (RequestHandler,), {'prompt_server': self})
        server_class = ThreadingHTTPServer
        if ':' in address:
            server_class = type('Server6', (ThreadingHTTPServer,), {'address_family': socket.AF_INET6})
        self.httpd = server_class((address, port), handler)
        self.httpd.daemon_threads = True
        return self.httpd.server_address[1]

    def node_info(self, name):
        cls = nodes.NODE_CLASS_MAPPINGS[name]
        types = cls.INPUT_TYPES()
        return {
            'input': types,
            'input_order': {k: list(v.keys()) for k, v in types.items() if isinstance(v, dict)},
            'output': list(cls.RETURN_TYPES),
            'output_is_list': list(getattr(cls, 'OUTPUT_IS_LIST', [False] * len(cls.RETURN_TYPES))),
            'output_name': list(getattr(cls, 'RETURN_NAMES', cls.RETURN_TYPES)),
            'name': name,
            'display_name': nodes.NODE_DISPLAY_NAME_MAPPINGS.get(name, name),
            'description': getattr(cls, 'DESCRIPTION', ''),
            'python_module': getattr(cls, 'RELATIVE_PYTHON_MODULE', 'nodes'),
            'category': getattr(cls, 'CATEGORY', 'sd'),
            'output_node': bool(getattr(cls, 'OUTPUT_NODE', False)),
        }

    def post_prompt(self, body):
        if 'number' in body:
            number = float(body['number'])
        else:
            with self.number_lock:
                number = self.number
                self.number += 1
            if body.get('front'):
                number = -number
        if 'prompt' not in body:
            return 400, {'error': {'type': 'no_prompt', 'message': 'No prompt provided', 'details': 'No prompt provided',
                                   'extra_info': {}}, 'node_errors': {}}
        prompt = body['prompt']
        if not isinstance(prompt, dict):
            return 400, {'error': {'type': 'invalid_prompt', 'message': 'The prompt must be an object of nodes',
                                   'details': '', 'extra_info': {}}, 'node_errors': {}}
        prompt_id = str(body.get('prompt_id') or uuid.uuid4())
        valid, error, outputs, node_errors = execution.validate_prompt(prompt)
        if not valid:
            logging.warning(f"invalid prompt: {error['message']}")
            return 400, {'error': error, 'node_errors': node_errors}
        extra_data = body.get('extra_data') or {}
        if 'client_id' in body:
            extra_data['client_id'] = body['client_id']
        logging.info('got prompt')
        self.prompt_queue.put((number, prompt_id, prompt, extra_data, outputs))
        return 200, {'prompt_id': prompt_id, 'number': number, 'node_errors': node_errors}

    def upload_image(self, fields):
        image = fields.get('image')
        if image is None or not image[0]:
            return 400, None
        filename = os.path.basename(image[0].replace('\\', '/'))
        upload_type = (fields.get('type') or (None, b'input'))[1].decode() or 'input'
        upload_dir = folder_paths.get_directory_by_type(upload_type)
        if upload_dir is None:
            return 400, None
        subfolder = (fields.get('subfolder') or (None, b''))[1].decode()
        overwrite = (fields.get('overwrite') or (None, b''))[1].decode()
        folder = os.path.join(upload_dir, os.path.normpath(subfolder)) if subfolder else upload_dir
        filepath = os.path.abspath(os.path.join(folder, filename))
        if not filename or os.path.commonpath((upload_dir, filepath)) != upload_dir:
            return 400, None
        os.makedirs(folder, exist_ok=True)
        base, ext = os.path.splitext(filename)
        duplicate = False
        if overwrite not in ('true', '1'):
            i = 1
            while os.path.exists(filepath):
                with open(filepath, 'rb') as f:
                    if f.read() == image[1]:
                        duplicate = True
                        break
                filename = f'{base} ({i}){ext}'
                filepath = os.path.join(folder, filename)
                i += 1
        if not duplicate:
            nodes._write_file(filepath, image[1])
        return 200, {'name': filename, 'subfolder': subfolder, 'type': upload_type}

    def system_stats(self):
        return {
            'system': {'os': os.name, 'ram_total': 0, 'ram_free': 0, 'comfyui_version': VERSION,
                       'required_frontend_version': '', 'python_version': sys.version, 'pytorch_version': 'none (stand-in)',
                       'embedded_python': False, 'argv': sys.argv},
            'devices': [{'name': 'cpu', 'type': 'cpu', 'index': None, 'vram_total': 0, 'vram_free': 0,
                         'torch_vram_total': 0, 'torch_vram_free': 0}],
        }


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    prompt_server = None  # set on the subclass made in PromptServer.start
    server_version = 'ComfyUI-standin'

    def log_request(self, code='-', size='-'):
        sys.stderr.write(f'{self.command} {self.path.split("?")[0]} {code}\n')

    def log_message(self, format, *args):
        sys.stderr.write('http: ' + (format % args) + '\n')

    # --- helpers ---

    def _read_body(self):
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def _send(self, status, body=b'', content_type='text/plain; charset=utf-8', headers=None):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, _dumps(obj).encode('utf-8'), 'application/json; charset=utf-8')

    def _forbidden_origin(self):
        """ComfyUI refuses a request whose Origin does not match a loopback Host (against CSRF from web pages)."""
        host, origin = self.headers.get('Host'), self.headers.get('Origin')
        if not host or not origin:
            return False
        host_domain = host.lower()
        origin_domain = urlsplit(origin).netloc.lower()
        return _is_loopback(urlsplit('//' + host_domain).hostname) and host_domain != origin_domain

    def _route(self):
        url = urlsplit(self.path)
        path = url.path
        if path.startswith('/api/'):
            path = path[4:]
        return path, {k: v[0] for k, v in parse_qs(url.query).items()}

    # --- methods ---

    def do_GET(self):
        self._dispatch('GET')

    def do_HEAD(self):
        self._dispatch('GET')

    def do_POST(self):
        self._dispatch('POST')

    def _dispatch(self, method):
        if self._forbidden_origin():
            self._read_body()
            self._send(403, b'403: Forbidden')
            return
        path, query = self._route()
        body = self._read_body() if method == 'POST' else b''
        try:
            self._handle(method, path, query, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as ex:
            logging.exception(f'error handling {method} {path}')
            self._json(500, {'error': str(ex)})

    def _handle(self, method, path, query, body):
        ps = self.prompt_server
        if method == 'GET':
            if path == '/ws':
                return self._websocket(query)
            if path == '/':
                page = (f'<!doctype html><title>ComfyUI</title><h1>ComfyUI stand-in {VERSION}</h1>'
                        f'<p>{len(nodes.NODE_CLASS_MAPPINGS)} node classes. See <a href="/object_info">/object_info</a>.</p>')
                return self._send(200, page.encode(), 'text/html; charset=utf-8')
            if path == '/system_stats':
                return self._json(200, ps.system_stats())
            if path == '/object_info':
                info = {}
                for name in nodes.NODE_CLASS_MAPPINGS:
                    try:
                        info[name] = ps.node_info(name)
                    except Exception:
                        logging.exception(f'[ERROR] An error occurred while retrieving information for the {name} node.')
                return self._json(200, info)
            if path.startswith('/object_info/'):
                name = path[len('/object_info/'):]
                return self._json(200, {name: ps.node_info(name)} if name in nodes.NODE_CLASS_MAPPINGS else {})
            if path == '/prompt':
                return self._json(200, ps.queue_info())
            if path == '/queue':
                running, pending = ps.prompt_queue.get_current_queue()
                return self._json(200, {'queue_running': running, 'queue_pending': pending})
            if path == '/history':
                max_items = int(query['max_items']) if 'max_items' in query else None
                return self._json(200, ps.prompt_queue.get_history(max_items=max_items))
            if path.startswith('/history/'):
                return self._json(200, ps.prompt_queue.get_history(prompt_id=path[len('/history/'):]))
            if path == '/view':
                return self._view(query)
            if path == '/embeddings':
                return self._json(200, [os.path.splitext(x)[0] for x in folder_paths.get_filename_list('embeddings')])
            if path == '/models':
                return self._json(200, sorted(folder_paths.folder_names_and_paths))
            if path.startswith('/models/'):
                return self._json(200, folder_paths.get_filename_list(path[len('/models/'):]))
            if path == '/extensions':
                return self._json(200, [])
        elif method == 'POST':
            if path == '/prompt':
                try:
                    parsed = json.loads(body or b'{}')
                except ValueError:
                    return self._json(400, {'error': {'type': 'invalid_prompt', 'message': 'The request body is not JSON',
                                                      'details': '', 'extra_info': {}}, 'node_errors': {}})
                status, answer = ps.post_prompt(parsed if isinstance(parsed, dict) else {})
                return self._json(status, answer)
            if path == '/upload/image':
                try:
                    fields = parse_multipart(self.headers.get('Content-Type'), body)
                except ValueError:
                    return self._send(400)
                status, answer = ps.upload_image(fields)
                return self._json(status, answer) if answer is not None else self._send(status)
            if path == '/interrupt':
                parsed = json.loads(body) if body.strip() else {}
                target = parsed.get('prompt_id') if isinstance(parsed, dict) else None
                if target is None or target in ps.prompt_queue.running_prompt_ids():
                    nodes.interrupt_processing()
                else:
                    logging.info(f'Prompt {target} is not running; nothing to interrupt')
                return self._send(200)
            if path == '/queue':
                parsed = json.loads(body) if body.strip() else {}
                if parsed.get('clear'):
                    ps.prompt_queue.wipe_queue()
                for prompt_id in parsed.get('delete', []):
                    ps.prompt_queue.delete_queue_item(prompt_id)
                return self._send(200)
            if path == '/history':
                parsed = json.loads(body) if body.strip() else {}
                if parsed.get('clear'):
                    ps.prompt_queue.wipe_history()
                for prompt_id in parsed.get('delete', []):
                    ps.prompt_queue.delete_history_item(prompt_id)
                return self._send(200)
            if path == '/free':
                return self._send(200)
        self._send(404, b'404: Not Found')

    def _view(self, query):
        filename = query.get('filename')
        if not filename:
            return self._send(404)
        if filename[0] == '/' or '..' in filename:
            return self._send(400)
        base = folder_paths.get_directory_by_type(query.get('type', 'output'))
        if base is None:
            return self._send(400)
        folder = base
        if query.get('subfolder'):
            folder = os.path.abspath(os.path.join(base, query['subfolder']))
            if os.path.commonpath((folder, base)) != base:
                return self._send(403)
        file = os.path.join(folder, os.path.basename(filename))
        if not os.path.isfile(file):
            return self._send(404)
        with open(file, 'rb') as f:
            data = f.read()
        content_type = mimetypes.guess_type(file)[0] or 'application/octet-stream'
        self._send(200, data, content_type, {'Content-Disposition': f'filename="{os.path.basename(file)}"'})

    def _websocket(self, query):
        ps = self.prompt_server
        key = self.headers.get('Sec-WebSocket-Key')
        if ps.refuse_websocket:
            return self._send(403, b'websocket refused (STANDIN_REFUSE_WEBSOCKET=1)')
        if 'websocket' not in (self.headers.get('Upgrade') or '').lower() or not key:
            return self._send(400, b'expected a websocket upgrade')
        self.send_response(101, 'Switching Protocols')
        self.send_header('Upgrade', 'websocket')
        self.send_header('Connection', 'Upgrade')
        self.send_header('Sec-WebSocket-Accept', ws_frames.accept_key(key))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        sid = query.get('clientId') or uuid.uuid4().hex
        conn = ws_frames.WsConnection(self.connection, self.rfile)
        with ps.sockets_lock:
            ps.sockets[sid] = conn
        try:
            conn.send_text(_dumps({'type': 'status', 'data': {'status': ps.queue_info(), 'sid': sid}}))
            if ps.client_id == sid and ps.last_node_id is not None:
                conn.send_text(_dumps({'type': 'executing', 'data': {'node': ps.last_node_id}}))
            conn.serve()
        finally:
            with ps.sockets_lock:
                if ps.sockets.get(sid) is conn:
                    del ps.sockets[sid]

