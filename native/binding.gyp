{
  "targets": [
    {
      "target_name": "moltnet",
      "sources": ["src/moltnet.c", "src/fdio.c", "src/udp.c", "src/offload.c", "src/offload_napi.c", "src/offload_io.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11"],
      "conditions": [
        ["OS=='linux'", {"sources": ["src/tun_linux.c"]}],
        ["OS=='mac'", {
          "sources": ["src/tun_darwin.c"],
          "xcode_settings": {"GCC_C_LANGUAGE_STANDARD": "gnu11"}
        }]
      ],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"],
          "xcode_settings": {"GCC_OPTIMIZATION_LEVEL": "2"}
        }
      }
    }
  ]
}
