"""Built-in node classes (a small set shaped like ComfyUI's) and custom node loading.

Nodes follow ComfyUI's conventions, so a custom node written for ComfyUI's API works here:
INPUT_TYPES (classmethod), RETURN_TYPES, FUNCTION, OUTPUT_NODE, CATEGORY, optional VALIDATE_INPUTS,
and a function returning a tuple or {"ui": {...}, "result": (...)}.
"""
import hashlib
import importlib.util
import logging
import os
import random
import sys
import time
import traceback

import comfy.model_management
import comfy.utils
import folder_paths
import image_codecs

MAX_RESOLUTION = 16384


def _write_file(path, data):
    """Readers of output/ never see half a file: write aside, then rename."""
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def _step_delay():
    try:
        return float(os.environ.get('STANDIN_STEP_DELAY', '0.05'))
    except ValueError:
        return 0.05


class CheckpointLoaderSimple:
    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'ckpt_name': (folder_paths.get_filename_list('checkpoints'),)}}

    RETURN_TYPES = ('MODEL', 'CLIP', 'VAE')
    FUNCTION = 'load_checkpoint'
    CATEGORY = 'loaders'

    def load_checkpoint(self, ckpt_name):
        path = folder_paths.get_full_path('checkpoints', ckpt_name)
        if path is None:
            raise FileNotFoundError(f'checkpoint not found: {ckpt_name}')
        digest = hashlib.sha256()
        with open(path, 'rb') as f:  # a broken link fails here, as it would in ComfyUI
            digest.update(f.read(1 << 20))
        model = {'name': ckpt_name, 'digest': digest.hexdigest()}
        return (model, {'name': ckpt_name}, {'name': ckpt_name})


class CLIPTextEncode:
    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'text': ('STRING', {'multiline': True}), 'clip': ('CLIP',)}}

    RETURN_TYPES = ('CONDITIONING',)
    FUNCTION = 'encode'
    CATEGORY = 'conditioning'

    def encode(self, clip, text):
        return ({'text': text},)


class EmptyLatentImage:
    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {
            'width': ('INT', {'default': 512, 'min': 16, 'max': MAX_RESOLUTION, 'step': 8}),
            'height': ('INT', {'default': 512, 'min': 16, 'max': MAX_RESOLUTION, 'step': 8}),
            'batch_size': ('INT', {'default': 1, 'min': 1, 'max': 4096}),
        }}

    RETURN_TYPES = ('LATENT',)
    FUNCTION = 'generate'
    CATEGORY = 'latent'

    def generate(self, width, height, batch_size=1):
        return ({'width': width, 'height': height, 'batch_size': batch_size, 'keys': None},)


class KSampler:
    SAMPLERS = ['euler', 'euler_ancestral', 'heun', 'dpmpp_2m', 'dpmpp_2m_sde', 'ddim', 'uni_pc']
    SCHEDULERS = ['normal', 'karras', 'exponential', 'sgm_uniform', 'simple', 'ddim_uniform', 'beta']

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {
            'model': ('MODEL',),
            'seed': ('INT', {'default': 0, 'min': 0, 'max': 0xffffffffffffffff}),
            'steps': ('INT', {'default': 20, 'min': 1, 'max': 10000}),
            'cfg': ('FLOAT', {'default': 8.0, 'min': 0.0, 'max': 100.0}),
            'sampler_name': (cls.SAMPLERS,),
            'scheduler': (cls.SCHEDULERS,),
            'positive': ('CONDITIONING',),
            'negative': ('CONDITIONING',),
            'latent_image': ('LATENT',),
            'denoise': ('FLOAT', {'default': 1.0, 'min': 0.0, 'max': 1.0}),
        }}

    RETURN_TYPES = ('LATENT',)
    FUNCTION = 'sample'
    CATEGORY = 'sampling'

    def sample(self, model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise=1.0):
        delay = _step_delay()
        bar = comfy.utils.ProgressBar(steps)
        for _ in range(steps):
            comfy.model_management.throw_exception_if_processing_interrupted()
            time.sleep(delay)
            bar.update(1)
        keys = [f"{model['digest']}|{positive['text']}|{negative['text']}|{seed + i}|{steps}|{cfg}|{sampler_name}|{scheduler}|{denoise}"
                for i in range(latent_image['batch_size'])]
        return ({**latent_image, 'keys': keys},)


class VAEDecode:
    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'samples': ('LATENT',), 'vae': ('VAE',)}}

    RETURN_TYPES = ('IMAGE',)
    FUNCTION = 'decode'
    CATEGORY = 'latent'

    def decode(self, vae, samples):
        keys = samples['keys'] or [f'empty|{i}' for i in range(samples['batch_size'])]
        return ([image_codecs.render(samples['width'], samples['height'], key) for key in keys],)


class SaveImage:
    def __init__(self):
        self.output_dir = folder_paths.get_output_directory()
        self.type = 'output'
        self.prefix_append = ''

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'images': ('IMAGE',), 'filename_prefix': ('STRING', {'default': 'ComfyUI'})},
                'hidden': {'prompt': 'PROMPT', 'extra_pnginfo': 'EXTRA_PNGINFO'}}

    RETURN_TYPES = ()
    FUNCTION = 'save_images'
    OUTPUT_NODE = True
    CATEGORY = 'image'

    def save_images(self, images, filename_prefix='ComfyUI', prompt=None, extra_pnginfo=None):
        filename_prefix += self.prefix_append
        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, self.output_dir)
        results = []
        for image in images:
            file = f'{filename}_{counter:05}_.png'
            _write_file(os.path.join(folder, file), image_codecs.encode_png(image))
            results.append({'filename': file, 'subfolder': subfolder, 'type': self.type})
            counter += 1
        return {'ui': {'images': results}}


class PreviewImage(SaveImage):
    def __init__(self):
        self.output_dir = folder_paths.get_temp_directory()
        self.type = 'temp'
        self.prefix_append = '_temp_' + ''.join(random.choice('abcdefghijklmnopqrstupvxyz') for _ in range(5))

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'images': ('IMAGE',)}, 'hidden': {'prompt': 'PROMPT', 'extra_pnginfo': 'EXTRA_PNGINFO'}}


class LoadImage:
    @classmethod
    def INPUT_TYPES(cls):
        input_dir = folder_paths.get_input_directory()
        files = [f for f in os.listdir(input_dir) if os.path.isfile(os.path.join(input_dir, f))] if os.path.isdir(input_dir) else []
        return {'required': {'image': (sorted(files), {'image_upload': True})}}

    RETURN_TYPES = ('IMAGE', 'MASK')
    FUNCTION = 'load_image'
    CATEGORY = 'image'

    def load_image(self, image):
        with open(folder_paths.get_annotated_filepath(image), 'rb') as f:
            return ([image_codecs.decode_png(f.read())], None)

    @classmethod
    def VALIDATE_INPUTS(cls, image):
        if not os.path.isfile(folder_paths.get_annotated_filepath(image)):
            return f'Invalid image file: {image}'
        return True


class ShowText:
    """Shows a text in the UI: the `text` output kind (like the popular ShowText custom nodes)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'text': ('STRING', {'multiline': True})}}

    RETURN_TYPES = ('STRING',)
    FUNCTION = 'show'
    OUTPUT_NODE = True
    CATEGORY = 'utils'

    def show(self, text):
        return {'ui': {'text': [text]}, 'result': (text,)}


class SaveAnimatedGIF:
    """Saves a batch of images as an animated GIF, reported under `gifs` as VideoHelperSuite does."""

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'images': ('IMAGE',),
                             'frame_rate': ('FLOAT', {'default': 8.0, 'min': 0.1, 'max': 120.0}),
                             'filename_prefix': ('STRING', {'default': 'AnimateDiff'})}}

    RETURN_TYPES = ()
    FUNCTION = 'combine'
    OUTPUT_NODE = True
    CATEGORY = 'image/animation'

    def combine(self, images, frame_rate, filename_prefix='AnimateDiff'):
        out_dir = folder_paths.get_output_directory()
        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, out_dir)
        # VideoHelperSuite names files without the trailing underscore ComfyUI's counter looks for.
        while os.path.exists(os.path.join(folder, f'{filename}_{counter:05}.gif')):
            counter += 1
        file = f'{filename}_{counter:05}.gif'
        _write_file(os.path.join(folder, file), image_codecs.encode_gif(images, frame_rate))
        return {'ui': {'gifs': [{'filename': file, 'subfolder': subfolder, 'type': 'output',
                                 'format': 'image/gif', 'frame_rate': frame_rate}]}}


class StandinTone:
    """A sine tone: something to feed SaveAudio without an audio model."""

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'frequency': ('FLOAT', {'default': 440.0, 'min': 20.0, 'max': 20000.0}),
                             'seconds': ('FLOAT', {'default': 0.25, 'min': 0.01, 'max': 60.0}),
                             'sample_rate': ('INT', {'default': 8000, 'min': 1000, 'max': 192000})}}

    RETURN_TYPES = ('AUDIO',)
    FUNCTION = 'make'
    CATEGORY = 'audio'

    def make(self, frequency, seconds, sample_rate):
        return ({'samples': image_codecs.tone(frequency, seconds, sample_rate), 'sample_rate': sample_rate},)


class SaveAudio:
    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'audio': ('AUDIO',), 'filename_prefix': ('STRING', {'default': 'audio/ComfyUI'})}}

    RETURN_TYPES = ()
    FUNCTION = 'save_audio'
    OUTPUT_NODE = True
    CATEGORY = 'audio'

    def save_audio(self, audio, filename_prefix='audio/ComfyUI'):
        out_dir = folder_paths.get_output_directory()
        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, out_dir)
        file = f'{filename}_{counter:05}_.wav'
        tmp = os.path.join(folder, f'.{file}.tmp-{os.getpid()}')
        image_codecs.write_wav(tmp, audio['samples'], audio['sample_rate'])
        os.replace(tmp, os.path.join(folder, file))
        return {'ui': {'audio': [{'filename': file, 'subfolder': subfolder, 'type': 'output'}]}}


class StandinRaise:
    """Fails on purpose, to produce an execution_error."""

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'message': ('STRING', {'default': 'this node always fails'})},
                'optional': {'images': ('IMAGE',)}}

    RETURN_TYPES = ()
    FUNCTION = 'fail'
    OUTPUT_NODE = True
    CATEGORY = 'testing'

    def fail(self, message, images=None):
        raise RuntimeError(message)


class ExecutionBlocker:
    """ComfyUI's comfy_execution.graph_utils.ExecutionBlocker: an output value that stops the nodes using it."""

    def __init__(self, message):
        self.message = message


class StandinBlock:
    """Passes an ExecutionBlocker on instead of its images, as a node gating a branch does in ComfyUI."""

    @classmethod
    def INPUT_TYPES(cls):
        return {'required': {'images': ('IMAGE',), 'message': ('STRING', {'default': 'blocked by StandinBlock'})}}

    RETURN_TYPES = ('IMAGE',)
    FUNCTION = 'block'
    CATEGORY = 'testing'

    def block(self, images, message):
        return (ExecutionBlocker(message or None),)


NODE_CLASS_MAPPINGS = {
    'CheckpointLoaderSimple': CheckpointLoaderSimple,
    'CLIPTextEncode': CLIPTextEncode,
    'EmptyLatentImage': EmptyLatentImage,
    'KSampler': KSampler,
    'VAEDecode': VAEDecode,
    'SaveImage': SaveImage,
    'PreviewImage': PreviewImage,
    'LoadImage': LoadImage,
    'ShowText': ShowText,
    'SaveAnimatedGIF': SaveAnimatedGIF,
    'StandinTone': StandinTone,
    'SaveAudio': SaveAudio,
    'StandinRaise': StandinRaise,
    'StandinBlock': StandinBlock,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    'CheckpointLoaderSimple': 'Load Checkpoint',
    'CLIPTextEncode': 'CLIP Text Encode (Prompt)',
    'EmptyLatentImage': 'Empty Latent Image',
    'VAEDecode': 'VAE Decode',
    'SaveImage': 'Save Image',
    'PreviewImage': 'Preview Image',
    'LoadImage': 'Load Image',
    'SaveAnimatedGIF': 'Save Animated GIF',
    'SaveAudio': 'Save Audio',
    'StandinTone': 'Sine Tone',
    'StandinRaise': 'Raise an Error',
    'StandinBlock': 'Block a Branch',
}


def interrupt_processing(value=True):
    comfy.model_management.interrupt_current_processing(value)


def load_custom_node(module_path, ignore=frozenset(), module_parent='custom_nodes'):
    """Imports one custom node package or file and merges its NODE_CLASS_MAPPINGS, as ComfyUI does."""
    module_name = os.path.basename(module_path)
    if os.path.isfile(module_path):
        module_name = os.path.splitext(module_name)[0]
    try:
        if os.path.isfile(module_path):
            spec = importlib.util.spec_from_file_location(module_name, module_path)
        else:
            spec = importlib.util.spec_from_file_location(module_name, os.path.join(module_path, '__init__.py'),
                                                          submodule_search_locations=[module_path])
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        mappings = getattr(module, 'NODE_CLASS_MAPPINGS', None)
        if mappings is None:
            logging.warning(f'Skip {module_path} module for custom nodes due to the lack of NODE_CLASS_MAPPINGS.')
            return False
        for name, node_cls in mappings.items():
            if name not in ignore:
                NODE_CLASS_MAPPINGS[name] = node_cls
                node_cls.RELATIVE_PYTHON_MODULE = f'{module_parent}.{module_name}'
        NODE_DISPLAY_NAME_MAPPINGS.update(getattr(module, 'NODE_DISPLAY_NAME_MAPPINGS', None) or {})
        return True
    except Exception as e:
        logging.warning(traceback.format_exc())
        logging.warning(f'Cannot import {module_path} module for custom nodes: {e}')
        return False


def init_external_custom_nodes(custom_nodes_dir):
    """Loads every package and .py file in custom_nodes/ (skipping *.disabled), then prints import times."""
    if not os.path.isdir(custom_nodes_dir):
        return
    base_node_names = frozenset(NODE_CLASS_MAPPINGS)
    times = []
    for entry in sorted(os.listdir(os.path.realpath(custom_nodes_dir))):
        module_path = os.path.join(custom_nodes_dir, entry)
        if entry == '__pycache__' or entry.endswith('.disabled'):
            continue
        if os.path.isfile(module_path) and os.path.splitext(module_path)[1] != '.py':
            continue
        started = time.perf_counter()
        success = load_custom_node(module_path, base_node_names)
        times.append((time.perf_counter() - started, module_path, success))
    if times:
        logging.info('\nImport times for custom nodes:')
        for seconds, path, success in sorted(times):
            logging.info('{:6.1f} seconds{}: {}'.format(seconds, '' if success else ' (IMPORT FAILED)', path))
        logging.info('')

