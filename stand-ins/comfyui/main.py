"""A small stand-in for ComfyUI's main.py: the same command line, HTTP and websocket API, and custom node
loading, with a handful of nodes that write real files. Python standard library only.

Knobs for tests and demos (environment variables):
  STANDIN_STEP_DELAY=S          seconds KSampler sleeps per step (default 0.05)
  STANDIN_STARTUP_DELAY=S       wait before listening (a slow start)
  STANDIN_STARTUP_ERROR=TEXT    log TEXT and exit 1 before listening (a start that fails)
  STANDIN_DIE_AFTER_STEPS=N     the process kills itself (SIGKILL) at the Nth sampler step (ComfyUI dying mid-job)
  STANDIN_WS_CLOSE_AFTER_STEPS=N  drop every websocket at the Nth sampler step (a lost connection)
  STANDIN_REFUSE_WEBSOCKET=1    answer 403 to /ws (clients must fall back to polling /history)
"""
import argparse
import logging
import os
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import comfy.model_management  # noqa: E402
import comfy.utils  # noqa: E402
import execution  # noqa: E402
import folder_paths  # noqa: E402
import nodes  # noqa: E402
import server as server_module  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description='ComfyUI stand-in')
    parser.add_argument('--listen', type=str, default='127.0.0.1', metavar='IP', nargs='?', const='0.0.0.0,::')
    parser.add_argument('--port', type=int, default=8188)
    parser.add_argument('--base-directory', type=str)
    parser.add_argument('--output-directory', type=str)
    parser.add_argument('--input-directory', type=str)
    parser.add_argument('--temp-directory', type=str)
    parser.add_argument('--user-directory', type=str)
    parser.add_argument('--extra-model-paths-config', type=str, nargs='+', action='append')
    parser.add_argument('--cpu', action='store_true')
    parser.add_argument('--disable-auto-launch', action='store_true')
    parser.add_argument('--disable-metadata', action='store_true')
    parser.add_argument('--verbose', default='INFO', const='DEBUG', nargs='?')
    parser.add_argument('--log-stdout', action='store_true')
    parser.add_argument('--quick-test-for-ci', action='store_true')
    parser.add_argument('--preview-method', type=str)
    parser.add_argument('--front-end-version', type=str)
    return parser.parse_known_args(argv)


def _int_env(name):
    try:
        return int(os.environ[name]) if os.environ.get(name) else None
    except ValueError:
        return None


class StepKnobs:
    """Counts sampler steps for the die / drop-websocket knobs."""

    def __init__(self, server):
        self.server = server
        self.steps = 0
        self.die_after = _int_env('STANDIN_DIE_AFTER_STEPS')
        self.drop_ws_after = _int_env('STANDIN_WS_CLOSE_AFTER_STEPS')

    def step(self):
        self.steps += 1
        if self.drop_ws_after is not None and self.steps == self.drop_ws_after:
            logging.warning(f'STANDIN_WS_CLOSE_AFTER_STEPS: dropping every websocket at step {self.steps}')
            self.server.drop_websockets()
        if self.die_after is not None and self.steps >= self.die_after:
            logging.error(f'STANDIN_DIE_AFTER_STEPS: killing the process at step {self.steps}')
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def prompt_worker(queue, server):
    executor = execution.PromptExecutor(server)
    while True:
        got = queue.get(timeout=1000)
        if got is None:
            continue
        item, item_id = got
        started = time.perf_counter()
        prompt_id = item[1]
        server.last_prompt_id = prompt_id
        try:
            executor.execute(item[2], prompt_id, item[3], item[4])
        except Exception:
            logging.exception('the executor failed')
            executor.success = False
            executor.history_result = {'outputs': {}, 'meta': {}}
        queue.task_done(item_id, executor.history_result, status={
            'status_str': 'success' if executor.success else 'error',
            'completed': executor.success,
            'messages': executor.status_messages,
        })
        # The done signal goes out only once the history entry is written, as in ComfyUI.
        if server.client_id is not None:
            server.send_sync('executing', {'node': None, 'prompt_id': prompt_id}, server.client_id)
        logging.info(f'Prompt executed in {time.perf_counter() - started:.2f} seconds')


def setup_folders(args):
    if args.base_directory:
        folder_paths.set_base_path(args.base_directory)
    if args.output_directory:
        folder_paths.set_output_directory(args.output_directory)
    if args.input_directory:
        folder_paths.set_input_directory(args.input_directory)
    if args.temp_directory:
        folder_paths.set_temp_directory(os.path.join(args.temp_directory, 'temp'))
    if args.user_directory:
        folder_paths.set_user_directory(args.user_directory)
    # ComfyUI empties its temp folder at startup.
    shutil.rmtree(folder_paths.get_temp_directory(), ignore_errors=True)
    for folder in (folder_paths.get_output_directory(), folder_paths.get_input_directory(), folder_paths.get_temp_directory()):
        os.makedirs(folder, exist_ok=True)


def main(argv):
    args, unknown = parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.verbose).upper(), logging.INFO), format='%(message)s',
                        stream=sys.stdout if args.log_stdout else sys.stderr)
    logging.info(f'** ComfyUI stand-in {server_module.VERSION}')
    logging.info(f'** Python version: {sys.version}')
    logging.info(f'** ComfyUI Path: {folder_paths.base_path}')
    if unknown:
        logging.warning(f"Ignoring unrecognized arguments: {' '.join(unknown)}")
    if args.extra_model_paths_config:
        logging.warning('--extra-model-paths-config is accepted but not read by the stand-in')
    setup_folders(args)
    logging.info('Device: cpu (stand-in: no torch)')

    delay = os.environ.get('STANDIN_STARTUP_DELAY')
    if delay:
        time.sleep(float(delay))
    failure = os.environ.get('STANDIN_STARTUP_ERROR')
    if failure:
        logging.error('Traceback (most recent call last):')
        logging.error('  File "main.py", line 1, in <module>')
        logging.error(f'RuntimeError: {failure}')
        return 1

    nodes.init_external_custom_nodes(os.path.join(folder_paths.base_path, 'custom_nodes'))
    if args.quick_test_for_ci:
        # As ComfyUI's start_comfyui: everything up to serving, then exit 0, custom node failures or not.
        return 0

    server = server_module.PromptServer(args)
    queue = execution.PromptQueue(server)
    knobs = StepKnobs(server)

    def progress_hook(value, total, preview_image, prompt_id=None, node_id=None):
        comfy.model_management.throw_exception_if_processing_interrupted()
        server.send_sync('progress', {'value': value, 'max': total, 'prompt_id': prompt_id or server.last_prompt_id,
                                      'node': node_id or server.last_node_id}, server.client_id)
        knobs.step()

    comfy.utils.set_progress_bar_global_hook(progress_hook)
    threading.Thread(target=prompt_worker, args=(queue, server), daemon=True, name='prompt_worker').start()

    address = args.listen.split(',')[0]
    try:
        port = server.start(address, args.port)
    except OSError as e:
        logging.error(f'Could not listen on {address}:{args.port}: {e}')
        return 1
    shown = '127.0.0.1' if address == '0.0.0.0' else f'[{address}]' if ':' in address else address
    logging.info('Starting server\n')
    logging.info(f'To see the GUI go to: http://{shown}:{port}')
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        logging.info('\nStopped server')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
