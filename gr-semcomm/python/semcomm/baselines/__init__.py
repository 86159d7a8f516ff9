"""Classical baselines that share the digital PHY with the semantic codecs (JPEG + LDPC + QAM)."""
from .jpeg import JPEG_DECODE_FAILED, JpegLink, JpegReception, JpegSettings, compress, decode_jpeg, encode_jpeg

__all__ = ["JPEG_DECODE_FAILED", "JpegLink", "JpegReception", "JpegSettings", "compress", "decode_jpeg",
           "encode_jpeg"]
