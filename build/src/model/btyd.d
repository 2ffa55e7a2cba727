build/src/model/btyd.o: src/model/btyd.c src/model/btyd.h
src/model/btyd.h:
