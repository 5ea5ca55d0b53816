#include <cstdio>
int main() { std::puts("segflow " SEGFLOW_VERSION); }
