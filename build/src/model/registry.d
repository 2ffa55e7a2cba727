build/src/model/registry.o: src/model/registry.c src/model/btyd.h
src/model/btyd.h:
