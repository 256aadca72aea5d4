#include <cblas.h>
#include <curl/curl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"

static const sf_option_t options[] = {{0}};
static const sf_cmd_spec_t spec = {
        "version",
        NULL,
        "Print StreamFlow's version and the versions of the libraries it runs with.",
        {options, NULL}};

int cmd_version(int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops > 0) return sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]), 2;

        /* Versions of the libraries actually loaded, not the headers we built against. */
        curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
        printf("streamflow %s\n", SF_VERSION);
        printf("librdkafka %s\n", rd_kafka_version_str());
        printf("libcurl    %s\n", curl->version);
        printf("OpenSSL    %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
        printf("jansson    %s\n", jansson_version_str());
        const char *blas = openblas_get_config();
        if (strncmp(blas, "OpenBLAS ", 9) == 0) blas += 9;
        printf("OpenBLAS   %s\n", blas);
        printf("zlib       %s\n", zlibVersion());
        printf("protobuf-c %s\n", protobuf_c_version());
        printf("libmicrohttpd %s\n", MHD_get_version());
        return 0;
}
