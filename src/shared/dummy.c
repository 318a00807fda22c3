void berth_shared_dummy(void); void berth_shared_dummy(void) {}
