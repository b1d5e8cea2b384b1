"""Where things live, after ComfyUI's folder_paths.py: models/<folder>, output/, input/, temp/ under the base dir."""
import os

supported_pt_extensions = {'.ckpt', '.pt', '.pt2', '.bin', '.pth', '.safetensors', '.pkl', '.sft'}

# Folder name -> the folders under models/ it reads (legacy names second), as ComfyUI registers them.
_MODEL_FOLDERS = {
    'checkpoints': ['checkpoints'], 'configs': ['configs'], 'loras': ['loras'], 'vae': ['vae'],
    'text_encoders': ['text_encoders', 'clip'], 'diffusion_models': ['unet', 'diffusion_models'],
    'clip_vision': ['clip_vision'], 'style_models': ['style_models'], 'embeddings': ['embeddings'],
    'diffusers': ['diffusers'], 'vae_approx': ['vae_approx'], 'controlnet': ['controlnet', 't2i_adapter'],
    'gligen': ['gligen'], 'upscale_models': ['upscale_models'], 'hypernetworks': ['hypernetworks'],
    'photomaker': ['photomaker'], 'classifiers': ['classifiers'], 'model_patches': ['model_patches'],
    'audio_encoders': ['audio_encoders'],
}

base_path = os.path.dirname(os.path.realpath(__file__))
models_dir = os.path.join(base_path, 'models')
folder_names_and_paths = {}
output_directory = ''
temp_directory = ''
input_directory = ''
user_directory = ''


def set_base_path(path):
    """Points every folder at a new base directory (ComfyUI's --base-directory)."""
    global base_path, models_dir, output_directory, temp_directory, input_directory, user_directory
    base_path = os.path.abspath(path)
    models_dir = os.path.join(base_path, 'models')
    folder_names_and_paths.clear()
    for name, subdirs in _MODEL_FOLDERS.items():
        exts = {'.yaml'} if name == 'configs' else set() if name in ('diffusers', 'classifiers') else supported_pt_extensions
        folder_names_and_paths[name] = ([os.path.join(models_dir, d) for d in subdirs], exts)
    output_directory = os.path.join(base_path, 'output')
    temp_directory = os.path.join(base_path, 'temp')
    input_directory = os.path.join(base_path, 'input')
    user_directory = os.path.join(base_path, 'user')


set_base_path(base_path)


def set_output_directory(path):
    global output_directory
    output_directory = os.path.abspath(path)


def set_temp_directory(path):
    global temp_directory
    temp_directory = os.path.abspath(path)


def set_input_directory(path):
    global input_directory
    input_directory = os.path.abspath(path)


def set_user_directory(path):
    global user_directory
    user_directory = os.path.abspath(path)


def get_output_directory():
    return output_directory


def get_temp_directory():
    return temp_directory


def get_input_directory():
    return input_directory


def get_directory_by_type(type_name):
    return {'output': output_directory, 'temp': temp_directory, 'input': input_directory}.get(type_name)


def add_model_folder_path(folder_name, full_folder_path, is_default=False):
    """What custom nodes call to register a folder of their own (e.g. models/ipadapter)."""
    paths, exts = folder_names_and_paths.setdefault(folder_name, ([], set(supported_pt_extensions)))
    if full_folder_path not in paths:
        if is_default:
            paths.insert(0, full_folder_path)
        else:
            paths.append(full_folder_path)


def get_folder_paths(folder_name):
    return list(_folder_entry(folder_name)[0])


def _folder_entry(folder_name):
    if folder_name in folder_names_and_paths:
        return folder_names_and_paths[folder_name]
    # An unknown folder is normal (custom nodes bring their own): read models/<name> with any extension.
    return ([os.path.join(models_dir, folder_name)], set())


def get_filename_list(folder_name):
    """Model files under the folder, recursively, following links (so linked models are visible)."""
    paths, exts = _folder_entry(folder_name)
    found = set()
    for root_dir in paths:
        if not os.path.isdir(root_dir):
            continue
        for dirpath, dirnames, filenames in os.walk(root_dir, followlinks=True):
            dirnames[:] = [d for d in dirnames if not d.startswith('.')]
            for name in filenames:
                if name.startswith('.'):
                    continue
                if exts and os.path.splitext(name)[1].lower() not in exts:
                    continue
                found.add(os.path.relpath(os.path.join(dirpath, name), root_dir).replace(os.sep, '/'))
    return sorted(found)


def get_full_path(folder_name, filename):
    filename = os.path.relpath(os.path.join('/', filename), '/')
    for root_dir in _folder_entry(folder_name)[0]:
        full = os.path.join(root_dir, filename)
        if os.path.isfile(full) or os.path.islink(full):
            return full
    return None


def get_annotated_filepath(name, default_dir=None):
    return os.path.join(default_dir or input_directory, name)


def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
    """(folder, name, next counter, subfolder, prefix) the way ComfyUI numbers ComfyUI_00001_.png."""
    def map_filename(filename):
        prefix_len = len(os.path.basename(filename_prefix))
        prefix = filename[:prefix_len + 1]
        try:
            digits = int(filename[prefix_len + 1:].split('_')[0])
        except ValueError:
            digits = 0
        return digits, prefix

    subfolder = os.path.dirname(os.path.normpath(filename_prefix))
    filename = os.path.basename(os.path.normpath(filename_prefix))
    full_output_folder = os.path.join(output_dir, subfolder)
    if os.path.commonpath((output_dir, os.path.abspath(full_output_folder))) != output_dir:
        raise Exception('Saving image outside the output folder is not allowed.'
                        f'\n full_output_folder: {os.path.abspath(full_output_folder)}\n output_dir: {output_dir}')
    try:
        counter = max(
            (d for d, p in map(map_filename, os.listdir(full_output_folder))
             if os.path.normcase(p[:-1]) == os.path.normcase(filename) and p[-1:] == '_'),
        ) + 1
    except ValueError:
        counter = 1
    except FileNotFoundError:
        os.makedirs(full_output_folder, exist_ok=True)
        counter = 1
    return full_output_folder, filename, counter, subfolder, filename_prefix
