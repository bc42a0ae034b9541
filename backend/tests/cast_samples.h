/* Two recordings the validator must accept, one of each asciicast version,
 * shared by the validator's tests and the store's. */
#ifndef EXO_CAST_SAMPLES_H
#define EXO_CAST_SAMPLES_H

static const char v2_body[] =
    "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 1504467315, "
    "\"title\": \"Caf\xC3\xA9 \xE2\x82\xAC\", \"env\": {\"TERM\": \"xterm-256color\", "
    "\"SHELL\": \"/bin/zsh\"}}\n"
    "[0.248848, \"o\", \"\\u001b[1;31mHello \\u001b[32mWorld!\\u001b[0m\\r\\n\"]\n"
    "[1.001376, \"o\", \"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE2\x9C\x93\\r\\n\"]\n"
    "\n"
    "[1.001376, \"i\", \"ls\\r\"]\n"
    "[2.5, \"m\", \"chapter \xE2\x85\xA0\"]\n"
    "[3, \"r\", \"100x30\"]\n"
    "[4.1e0, \"o\", \"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"]\n";

static const char v3_body[] =
    "{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24, \"type\": \"xterm-256color\"}, "
    "\"timestamp\": 1504467315, \"title\": \"\xE2\x9C\x93 demo\"}\n"
    "# a comment with \xF0\x9F\x98\x80 in it\n"
    "[0.248, \"o\", \"caf\xC3\xA9 \xE2\x82\xAC\\r\\n\"]\n"
    "[1.5, \"i\", \"exit\\r\"]\n"
    "[0.25, \"m\", \"intervals need not grow\"]\n"
    "[0.1, \"r\", \"120x40\"]\n"
    "#\n"
    "[0.0, \"x\", \"0\"]\n";

#endif
