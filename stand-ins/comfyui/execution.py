"""Prompt validation, the prompt queue and the executor, after ComfyUI's execution.py (simplified, no caching)."""
import copy
import heapq
import inspect
import logging
import threading
import time
import traceback

import comfy.model_management
import nodes

WIDGET_TYPES = ('INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO')
MAXIMUM_HISTORY_SIZE = 10000


def is_link(value):
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def _input_spec(class_def):
    types = class_def.INPUT_TYPES()
    return types.get('required', {}) or {}, types.get('optional', {}) or {}, types.get('hidden', {}) or {}


def _convert(input_type, value):
    if input_type == 'INT':
        return int(value)
    if input_type == 'FLOAT':
        return float(value)
    if input_type == 'STRING':
        return str(value)
    if input_type == 'BOOLEAN':
        return bool(value)
    return value


def _combo_options(input_type, extra):
    if isinstance(input_type, (list, tuple)):
        return list(input_type)
    if input_type == 'COMBO':
        return list(extra.get('options', []))
    return None


def validate_inputs(prompt, unique_id, validated):
    """(valid, errors, node id) for one node, validating linked nodes first."""
    if unique_id in validated:
        return validated[unique_id]
    validated[unique_id] = (True, [], unique_id)  # a cycle must not recurse forever
    node = prompt[unique_id]
    class_def = nodes.NODE_CLASS_MAPPINGS[node['class_type']]
    inputs = node.get('inputs', {})
    errors = []
    valid = True
    if not isinstance(inputs, dict):
        inputs = {}
        errors.append({'type': 'invalid_prompt', 'message': 'inputs must be an object', 'details': '', 'extra_info': {}})
    required, optional, _ = _input_spec(class_def)
    custom = getattr(class_def, 'VALIDATE_INPUTS', None)
    custom_args = set(inspect.signature(custom).parameters) if custom else set()
    for name, spec in list(required.items()) + list(optional.items()):
        input_type = spec[0]
        extra = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        if name not in inputs:
            if name in required:
                errors.append({'type': 'required_input_missing', 'message': 'Required input is missing',
                               'details': name, 'extra_info': {'input_name': name}})
            continue
        value = inputs[name]
        if isinstance(value, list):
            if not is_link(value) or value[0] not in prompt:
                errors.append({'type': 'bad_linked_input', 'message': 'Bad linked input, must be a length-2 list of [string, int]',
                               'details': f'{name}', 'extra_info': {'input_name': name, 'input_config': spec, 'received_value': value}})
                continue
            linked_class = nodes.NODE_CLASS_MAPPINGS[prompt[value[0]]['class_type']]
            return_types = linked_class.RETURN_TYPES
            if value[1] >= len(return_types):
                errors.append({'type': 'bad_linked_input', 'message': 'Bad linked input: the node has no such output',
                               'details': f'{name}', 'extra_info': {'input_name': name, 'input_config': spec, 'received_value': value}})
                continue
            received = return_types[value[1]]
            if (not isinstance(input_type, (list, tuple)) and '*' not in (input_type, received)
                    and input_type not in str(received).split(',')):
                errors.append({'type': 'return_type_mismatch', 'message': 'Return type mismatch between linked nodes',
                               'details': f'{name}, received_type({received}) mismatch input_type({input_type})',
                               'extra_info': {'input_name': name, 'input_config': spec, 'received_type': received,
                                              'linked_node': value}})
                continue
            if not validate_inputs(prompt, value[0], validated)[0]:
                valid = False
            continue
        if name in custom_args:
            continue
        options = _combo_options(input_type, extra)
        if options is None and input_type not in WIDGET_TYPES:
            errors.append({'type': 'invalid_input_type', 'message': f'Input {name} must be linked to an output of type {input_type}',
                           'details': f'{name}, {value!r}', 'extra_info': {'input_name': name, 'input_config': spec, 'received_value': value}})
            continue
        try:
            value = _convert(input_type, value)
        except (TypeError, ValueError) as ex:
            errors.append({'type': 'invalid_input_type', 'message': f'Failed to convert an input value to a {input_type} value',
                           'details': f'{name}, {value}, {ex}', 'extra_info': {'input_name': name, 'input_config': spec, 'received_value': value}})
            continue
        if input_type in ('INT', 'FLOAT'):
            if 'min' in extra and value < extra['min']:
                errors.append({'type': 'value_smaller_than_min', 'message': f"Value {value} smaller than min of {extra['min']}",
                               'details': name, 'extra_info': {'input_name': name, 'input_config': spec, 'received_value': value}})
                continue
            if 'max' in extra and value > extra['max']:
                errors.append({'type': 'value_bigger_than_max', 'message': f"Value {value} bigger than max of {extra['max']}",
                               'details': name, 'extra_info': {'input_name': name, 'input_config': spec, 'received_value': value}})
                continue
        if options is not None and value not in options:
            list_info = f'(list of length {len(options)})' if len(options) > 20 else str(options)
            errors.append({'type': 'value_not_in_list', 'message': 'Value not in list',
                           'details': f"{name}: '{value}' not in {list_info}",
                           'extra_info': {'input_name': name, 'input_config': spec, 'received_value': value}})
    if custom:
        args = {k: inputs[k] for k in custom_args if k in inputs and not is_link(inputs[k])}
        try:
            result = custom(**args)
        except Exception as ex:
            result = str(ex)
        if result is not True:
            errors.append({'type': 'custom_validation_failed', 'message': 'Custom validation failed for node',
                           'details': f"{', '.join(sorted(args))} - {result}", 'extra_info': {'input_name': ', '.join(sorted(args))}})
    if errors:
        valid = False
    validated[unique_id] = (valid, errors, unique_id)
    return validated[unique_id]


def validate_prompt(prompt):
    """(valid, error, outputs to run, node_errors), with ComfyUI's error types and messages."""
    outputs = set()
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or 'class_type' not in node:
            return (False, {'type': 'invalid_prompt', 'message': 'Cannot execute because a node is missing the class_type property.',
                            'details': f"Node ID '#{node_id}'", 'extra_info': {}}, [], {})
        class_def = nodes.NODE_CLASS_MAPPINGS.get(node['class_type'])
        if class_def is None:
            return (False, {'type': 'invalid_prompt', 'message': f"Cannot execute because node {node['class_type']} does not exist.",
                            'details': f"Node ID '#{node_id}'", 'extra_info': {}}, [], {})
        if getattr(class_def, 'OUTPUT_NODE', False):
            outputs.add(node_id)
    if not outputs:
        return (False, {'type': 'prompt_no_outputs', 'message': 'Prompt has no outputs', 'details': '', 'extra_info': {}}, [], {})

    good_outputs, failed, node_errors, validated = [], [], {}, {}
    for output in sorted(outputs, key=_node_order):
        try:
            valid, reasons, _ = validate_inputs(prompt, output, validated)
        except Exception as ex:
            valid, reasons = False, [{'type': 'exception_during_validation', 'message': 'Exception when validating node',
                                      'details': str(ex), 'extra_info': {'traceback': traceback.format_tb(ex.__traceback__)}}]
            validated[output] = (False, reasons, output)
        if valid:
            good_outputs.append(output)
            continue
        failed.append((output, reasons))
        needed = set(execution_order(prompt, [output]))
        for node_id, (ok, node_reasons, _) in validated.items():
            if ok or not node_reasons or node_id not in needed:
                continue
            entry = node_errors.setdefault(node_id, {'errors': node_reasons, 'dependent_outputs': [],
                                                     'class_type': prompt[node_id]['class_type']})
            if output not in entry['dependent_outputs']:
                entry['dependent_outputs'].append(output)
        logging.warning(f"Failed to validate prompt for output {output}:")
        for r in reasons:
            logging.warning(f"* {r['message']}: {r['details']}")
    if not good_outputs:
        lines = [f"{e['message']}: {e['details']}" for entry in node_errors.values() for e in entry['errors']]
        return (False, {'type': 'prompt_outputs_failed_validation', 'message': 'Prompt outputs failed validation',
                        'details': '\n'.join(lines), 'extra_info': {}}, [], node_errors)
    return (True, None, good_outputs, node_errors)


def _node_order(node_id):
    return (0, int(node_id), '') if str(node_id).isdigit() else (1, 0, str(node_id))


def execution_order(prompt, outputs):
    """Every node an output needs, dependencies first, outputs in id order."""
    order, seen = [], set()

    def visit(node_id):
        if node_id in seen:
            return
        seen.add(node_id)
        for value in prompt[node_id].get('inputs', {}).values():
            if is_link(value) and value[0] in prompt:
                visit(value[0])
        order.append(node_id)

    for output in sorted(outputs, key=_node_order):
        visit(output)
    return order


def _full_type_name(klass):
    module = klass.__module__
    return klass.__qualname__ if module == 'builtins' else f'{module}.{klass.__qualname__}'


class PromptExecutor:
    def __init__(self, server):
        self.server = server
        self.status_messages = []
        self.success = True
        self.history_result = {}

    def add_message(self, event, data, broadcast):
        data = {**data, 'timestamp': int(time.time() * 1000)}
        self.status_messages.append((event, data))
        if self.server.client_id is not None or broadcast:
            self.server.send_sync(event, data, self.server.client_id)

    def _send(self, event, data):
        if self.server.client_id is not None:
            self.server.send_sync(event, data, self.server.client_id)

    @staticmethod
    def blocker_of(node, results):
        for value in node.get('inputs', {}).values():
            if is_link(value) and value[0] in results:
                out = results[value[0]]
                if value[1] < len(out) and isinstance(out[value[1]], nodes.ExecutionBlocker):
                    return out[value[1]]
        return None

    def run_node(self, prompt, node_id, results, extra_data):
        node = prompt[node_id]
        class_def = nodes.NODE_CLASS_MAPPINGS[node['class_type']]
        required, optional, hidden = _input_spec(class_def)
        declared = {**optional, **required}
        kwargs = {}
        for name, value in node.get('inputs', {}).items():
            if name not in declared:
                continue
            if is_link(value):
                kwargs[name] = results[value[0]][value[1]]
            else:
                kwargs[name] = _convert(declared[name][0], value)
        for name, kind in hidden.items():
            kwargs[name] = {'PROMPT': prompt, 'EXTRA_PNGINFO': extra_data.get('extra_pnginfo'), 'UNIQUE_ID': node_id}.get(kind)
        obj = class_def()
        returned = getattr(obj, class_def.FUNCTION)(**kwargs)
        if isinstance(returned, dict):
            return returned.get('ui'), tuple(returned.get('result') or ())
        return None, tuple(returned or ())

    def execute(self, prompt, prompt_id, extra_data, execute_outputs):
        nodes.interrupt_processing(False)
        self.server.client_id = extra_data.get('client_id')
        self.status_messages = []
        self.success = True
        self.add_message('execution_start', {'prompt_id': prompt_id}, broadcast=False)
        self.add_message('execution_cached', {'nodes': [], 'prompt_id': prompt_id}, broadcast=False)
        results, ui_outputs, executed = {}, {}, []
        for node_id in execution_order(prompt, execute_outputs):
            class_type = prompt[node_id]['class_type']
            self.server.last_node_id = node_id
            try:
                comfy.model_management.throw_exception_if_processing_interrupted()
                self._send('executing', {'node': node_id, 'display_node': node_id, 'prompt_id': prompt_id})
                blocker = self.blocker_of(prompt[node_id], results)
                if blocker is not None:
                    # As ComfyUI: the node does not run, its outputs block in turn, a message is reported once (as an
                    # execution_error that is not recorded in the history), and the rest of the prompt goes on.
                    if blocker.message is not None:
                        self._send('execution_error', {
                            'prompt_id': prompt_id, 'node_id': node_id, 'node_type': class_type, 'executed': executed,
                            'exception_message': f'Execution Blocked: {blocker.message}', 'exception_type': 'ExecutionBlocked',
                            'traceback': [], 'current_inputs': [], 'current_outputs': [],
                        })
                        blocker.message = None
                    results[node_id] = tuple(blocker for _ in nodes.NODE_CLASS_MAPPINGS[class_type].RETURN_TYPES)
                    continue
                ui, out = self.run_node(prompt, node_id, results, extra_data)
                results[node_id] = out
                executed.append(node_id)
                if ui is not None:
                    ui_outputs[node_id] = ui
                    self._send('executed', {'node': node_id, 'display_node': node_id, 'output': ui, 'prompt_id': prompt_id})
            except comfy.model_management.InterruptProcessingException:
                logging.info('Processing interrupted')
                self.add_message('execution_interrupted', {'prompt_id': prompt_id, 'node_id': node_id, 'node_type': class_type,
                                                           'executed': executed}, broadcast=True)
                self.success = False
                break
            except Exception as ex:
                logging.error(f'!!! Exception during processing !!! {ex}')
                logging.error(traceback.format_exc())
                self.add_message('execution_error', {
                    'prompt_id': prompt_id, 'node_id': node_id, 'node_type': class_type, 'executed': executed,
                    'exception_message': str(ex), 'exception_type': _full_type_name(type(ex)),
                    'traceback': traceback.format_tb(ex.__traceback__), 'current_inputs': {}, 'current_outputs': {},
                }, broadcast=False)
                self.success = False
                break
        if self.success:
            self.add_message('execution_success', {'prompt_id': prompt_id}, broadcast=False)
        self.history_result = {
            'outputs': ui_outputs,
            'meta': {n: {'node_id': n, 'display_node': n, 'parent_node': None, 'real_node_id': n} for n in ui_outputs},
        }
        self.server.last_node_id = None


class PromptQueue:
    """Pending prompts ordered by number, the one running, and the history of finished ones."""

    def __init__(self, server):
        self.server = server
        self.mutex = threading.RLock()
        self.not_empty = threading.Condition(self.mutex)
        self.task_counter = 0
        self.queue = []
        self.currently_running = {}
        self.history = {}
        server.prompt_queue = self

    def put(self, item):
        with self.mutex:
            heapq.heappush(self.queue, item)
            self.server.queue_updated()
            self.not_empty.notify()

    def get(self, timeout=None):
        with self.not_empty:
            while not self.queue:
                self.not_empty.wait(timeout=timeout)
                if timeout is not None and not self.queue:
                    return None
            item = heapq.heappop(self.queue)
            item_id = self.task_counter
            self.currently_running[item_id] = copy.deepcopy(item)
            self.task_counter += 1
            self.server.queue_updated()
            return item, item_id

    def task_done(self, item_id, history_result, status):
        with self.mutex:
            prompt = self.currently_running.pop(item_id)
            while len(self.history) >= MAXIMUM_HISTORY_SIZE:
                self.history.pop(next(iter(self.history)))
            self.history[prompt[1]] = {'prompt': list(prompt), 'outputs': {}, 'status': status}
            self.history[prompt[1]].update(history_result)
            self.server.queue_updated()

    def get_current_queue(self):
        with self.mutex:
            return [list(x) for x in self.currently_running.values()], [list(x) for x in sorted(self.queue)]

    def get_tasks_remaining(self):
        with self.mutex:
            return len(self.queue) + len(self.currently_running)

    def wipe_queue(self):
        with self.mutex:
            self.queue = []
            self.server.queue_updated()

    def delete_queue_item(self, prompt_id):
        with self.mutex:
            kept = [x for x in self.queue if x[1] != prompt_id]
            if len(kept) == len(self.queue):
                return False
            self.queue = kept
            heapq.heapify(self.queue)
            self.server.queue_updated()
            return True

    def running_prompt_ids(self):
        with self.mutex:
            return [x[1] for x in self.currently_running.values()]

    def get_history(self, prompt_id=None, max_items=None):
        with self.mutex:
            if prompt_id is not None:
                return copy.deepcopy({prompt_id: self.history[prompt_id]}) if prompt_id in self.history else {}
            keys = list(self.history)
            if max_items is not None:
                keys = keys[-max_items:]
            return copy.deepcopy({k: self.history[k] for k in keys})

    def wipe_history(self):
        with self.mutex:
            self.history = {}

    def delete_history_item(self, prompt_id):
        with self.mutex:
            self.history.pop(prompt_id, None)
